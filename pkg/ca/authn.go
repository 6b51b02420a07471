package ca

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// DefaultAudience is the audience Istio's agents request for CA tokens.
const DefaultAudience = "istio-ca"

// TokenReviewer authenticates a projected ServiceAccount token with the API server's TokenReview.
type TokenReviewer struct {
	Client   kubernetes.Interface
	Audience string
}

// Authenticate returns the identity behind a valid, unexpired token minted for the audience.
func (r TokenReviewer) Authenticate(ctx context.Context, token string) (Identity, error) {
	aud := r.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	review, err := r.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: []string{aud}},
	}, metav1.CreateOptions{})
	if err != nil {
		return Identity{}, fmt.Errorf("token review: %w", err)
	}
	st := review.Status
	if !st.Authenticated {
		return Identity{}, fmt.Errorf("token rejected: %s", strings.TrimSpace(st.Error))
	}
	if !slices.Contains(st.Audiences, aud) {
		return Identity{}, fmt.Errorf("token is not for audience %q", aud)
	}
	return identityFromUsername(st.User.Username)
}

// identityFromUsername parses system:serviceaccount:<namespace>:<name>.
func identityFromUsername(u string) (Identity, error) {
	parts := strings.Split(u, ":")
	if len(parts) != 4 || parts[0] != "system" || parts[1] != "serviceaccount" || parts[2] == "" || parts[3] == "" {
		return Identity{}, fmt.Errorf("%q is not a service account", u)
	}
	return Identity{Namespace: parts[2], ServiceAccount: parts[3]}, nil
}

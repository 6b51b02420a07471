// Package errs holds Skiff's typed errors and the single table that maps them to exit codes.
package errs

import (
	"errors"
	"fmt"
)

// Exit codes, following sysexits(3) where one fits, so scripts can tell failures apart.
const (
	ExitOK          = 0
	ExitFailure     = 1  // anything else: cluster unreachable, apply failed, ...
	ExitUsage       = 64 // EX_USAGE: bad flags or arguments
	ExitBadInput    = 65 // EX_DATAERR: unusable input files, profiles, overlays, --set values
	ExitIssuesFound = 79 // analysis found messages at or above the failure threshold (istioctl's code)
)

// Kind classifies an error for its exit code.
type Kind int

const (
	KindFailure Kind = iota
	KindUsage
	KindBadInput
	KindIssuesFound
)

// Error is an error with a Kind. Wrap any error with one of the constructors below.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func newf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// Usage reports bad flags or arguments (exit 64).
func Usage(format string, args ...any) error { return newf(KindUsage, format, args...) }

// BadInput reports input that cannot be used: a malformed file, an unknown profile, a bad --set (exit 65).
func BadInput(format string, args ...any) error { return newf(KindBadInput, format, args...) }

// IssuesFound reports that analysis found messages at or above the failure threshold (exit 79).
func IssuesFound(format string, args ...any) error { return newf(KindIssuesFound, format, args...) }

// Failure reports any other failure (exit 1); it exists so callers can wrap with a message consistently.
func Failure(format string, args ...any) error { return newf(KindFailure, format, args...) }

// KindOf returns the Kind of the outermost typed error in err's chain, KindFailure when none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindFailure
}

// Code maps err to the process exit code; nil is success.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	switch KindOf(err) {
	case KindUsage:
		return ExitUsage
	case KindBadInput:
		return ExitBadInput
	case KindIssuesFound:
		return ExitIssuesFound
	default:
		return ExitFailure
	}
}

package install

import "errors"

// Render turns a resolved profile into the ordered manifests of its enabled components.
// TODO(install-render helper): real implementation replaces this placeholder during this session.
func Render(p *Profile) ([]Manifest, error) { return nil, errors.New("render: not implemented yet") }

package patkit

import (
	"cmp"
	"runtime/debug"
	"sync"
)

// The GitLab release whose REST API patkit follows, as GET /version
// reports it to GitLab's clients, which choose features by it. patkit's
// defaults and entities follow GitLab 19.x (see the package documentation,
// Choices); the behaviour was read in GitLab's source at GitLab 19.6.
const (
	GitLabVersion  = "19.6.0"
	GitLabRevision = "0739b8bf"
)

// modulePath is patkit's module path, looked up in the build information.
const modulePath = "github.com/patkit/patkit"

// Version returns the version of the patkit module built into the running
// program, from its build information: a release tag ("v1.2.3") or a
// pseudo-version, as the go command recorded it, and "(devel)" when it
// recorded none (go run, tests) or the information is missing.
func Version() string { return version() }

// version reads the build information once.
var version = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	v := ""
	if bi.Main.Path == modulePath {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			v = d.Version
			if d.Replace != nil && d.Replace.Version != "" {
				v = d.Replace.Version
			}
		}
	}
	return cmp.Or(v, "(devel)")
})

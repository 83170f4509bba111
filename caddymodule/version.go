package caddymodule

import "runtime/debug"

// modulePath is tokengate's Go module.
const modulePath = "github.com/tokengate/tokengate"

// moduleVersion is the version of tokengate this binary was built with,
// as the go command recorded it: the version xcaddy asked for
// (`--with github.com/tokengate/tokengate@v0.9.0=./` records v0.9.0
// even though the code comes from the checkout), the main module's when
// tokengate is built itself, "(devel)" when there is none.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	return versionIn(bi)
}

func versionIn(bi *debug.BuildInfo) string {
	v := ""
	if bi.Main.Path == modulePath {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == modulePath {
			v = d.Version
		}
	}
	if v == "" {
		return "(devel)"
	}
	return v
}

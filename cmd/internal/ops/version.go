package ops

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Build is what a binary knows of its build.
type Build struct {
	Binary    string `json:"binary"`
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"` // built from a work tree with changes (vcs info only)
	GoVersion string `json:"go"`
}

// NewBuild is the binary's build: version and commit as `make build` stamps them (-ldflags
// -X main.version=… -X main.commit=…), else from the Go toolchain's VCS stamp, else
// "devel"/"unknown".
func NewBuild(binary, version, commit string) Build {
	b := Build{Binary: binary, Version: version, Commit: commit, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		b = fromBuildInfo(b, info)
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// fromBuildInfo fills what -ldflags left empty from the module and VCS stamps.
func fromBuildInfo(b Build, info *debug.BuildInfo) Build {
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	if b.Commit == "" {
		b.Commit = vcs["vcs.revision"]
		b.Modified = vcs["vcs.modified"] == "true"
	}
	if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	if b.Version == "" && b.Commit != "" {
		b.Version = shortCommit(b.Commit)
		if b.Modified {
			b.Version += "-dirty"
		}
	}
	return b
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func version(b Build, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	pos, err := parse(fs, args)
	if err != nil || len(pos) > 0 {
		return fmt.Errorf("usage: version [--json]: %w", errUsage)
	}
	if *asJSON {
		return printJSON(out, b)
	}
	_, err = fmt.Fprintf(out, "%s %s (commit %s, %s)\n", b.Binary, b.Version, b.Commit, b.GoVersion)
	return err
}

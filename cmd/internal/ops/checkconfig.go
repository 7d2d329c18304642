package ops

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/aiadmin/aiadmin/cmd/internal/config"
)

// configReport is check-config's JSON.
type configReport struct {
	Settings []settingView `json:"settings"`
	Errors   []problemView `json:"errors"`
	Warnings []problemView `json:"warnings"`
}

type settingView struct {
	Name    string `json:"name"`
	Value   string `json:"value"` // masked
	FromEnv bool   `json:"from_env"`
}

type problemView struct {
	Variable string `json:"variable"`
	Message  string `json:"message"`
}

// checkConfig prints the effective configuration with secrets masked and every problem; it
// fails when the configuration has errors (api and worker would refuse to start).
func checkConfig(o config.Options, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON")
	pos, err := parse(fs, args)
	if err != nil || len(pos) > 0 {
		return fmt.Errorf("usage: check-config [--json]: %w", errUsage)
	}
	c, _ := config.LoadWith(o) // the problems are in c.Problems
	rep := configReport{Errors: []problemView{}, Warnings: []problemView{}}
	for _, s := range c.Settings() {
		rep.Settings = append(rep.Settings, settingView{Name: s.Name, Value: s.Masked(), FromEnv: s.FromEnv})
	}
	for _, p := range c.Problems {
		v := problemView{Variable: p.Var, Message: p.Message}
		if p.Warning {
			rep.Warnings = append(rep.Warnings, v)
		} else {
			rep.Errors = append(rep.Errors, v)
		}
	}
	if *asJSON {
		err = printJSON(out, rep)
	} else {
		err = printConfig(out, rep)
	}
	if err != nil {
		return err
	}
	if n := len(rep.Errors); n > 0 {
		return fmt.Errorf("configuration refused: %d error%s", n, map[bool]string{true: "", false: "s"}[n == 1])
	}
	return nil
}

func printConfig(out io.Writer, rep configReport) error {
	fmt.Fprintln(out, "Effective configuration (secrets masked; * = set in the environment, else the default):")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, s := range rep.Settings {
		mark := ""
		if s.FromEnv {
			mark = "*"
		}
		v := s.Value
		if v == "" {
			v = "(not set)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, mark, v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, sec := range []struct {
		title string
		list  []problemView
	}{{"Warnings", rep.Warnings}, {"Errors (api and worker refuse to start)", rep.Errors}} {
		if len(sec.list) == 0 {
			continue
		}
		fmt.Fprintf(out, "\n%s:\n", sec.title)
		for _, p := range sec.list {
			fmt.Fprintf(out, "  %s: %s\n", p.Variable, p.Message)
		}
	}
	if len(rep.Errors) == 0 {
		fmt.Fprintln(out, "\nConfiguration OK.")
	}
	return nil
}

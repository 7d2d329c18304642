package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README's configuration table names every variable check-config shows, and nothing else
// but the development binary's own (its dev server's binary and config): a variable added to
// one and not the other fails here.
func TestREADMEListsEverySetting(t *testing.T) {
	raw, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	readme := string(raw)
	start := strings.Index(readme, "## Configuration")
	require.GreaterOrEqual(t, start, 0, "the README's Configuration section")
	end := strings.Index(readme[start+1:], "\n## ")
	require.Greater(t, end, 0)
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	var documented []string
	for _, line := range strings.Split(readme[start:start+1+end], "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 && strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
				documented = append(documented, m[1])
			}
		}
	}
	cleanEnv(t)
	c, _ := LoadWith(Options{Dev: true})
	var shown []string
	for _, s := range c.Settings() {
		shown = append(shown, s.Name)
	}
	for _, v := range shown {
		require.Contains(t, documented, v, "check-config shows %s; the README's table does not list it", v)
	}
	var extra []string
	for _, v := range documented {
		if !slices.Contains(shown, v) {
			extra = append(extra, v)
		}
	}
	require.ElementsMatch(t, []string{"TEMPORAL_DEV_BIN", "TEMPORAL_DEV_CONFIG"}, extra, "in the README's table, not shown by check-config")
}

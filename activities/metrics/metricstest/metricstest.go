// Package metricstest reads Prometheus metrics in tests: the product's metrics as this
// process records them (Value), and a /metrics page as a scraper reads it (Scrape).
package metricstest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/aiadmin/aiadmin/activities/metrics"
)

// Families are metric families by name.
type Families map[string]*dto.MetricFamily

// Value is the sum over the series of the family name whose labels include labels: a
// counter's or gauge's value, a histogram's sample count. ok is false when no series matches.
func (f Families) Value(name string, labels map[string]string) (v float64, ok bool) {
	fam := f[name]
	if fam == nil {
		return 0, false
	}
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		ok = true
		switch {
		case m.GetCounter() != nil:
			v += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			v += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			v += float64(m.GetHistogram().GetSampleCount())
		case m.GetUntyped() != nil:
			v += m.GetUntyped().GetValue()
		}
	}
	return v, ok
}

// LabelValues lists every label value of every series, for checks that nothing secret or
// unbounded became a label.
func (f Families) LabelValues() []string {
	var out []string
	for _, fam := range f {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				out = append(out, l.GetValue())
			}
		}
	}
	return out
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}

// Value is the product metric's value as this process has it now (see Families.Value; 0
// when no series matches).
func Value(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := metrics.NewRegistry().Gather()
	require.NoError(t, err)
	byName := Families{}
	for _, fam := range fams {
		byName[fam.GetName()] = fam
	}
	v, _ := byName.Value(name, labels)
	return v
}

// Scrape GETs a /metrics page and parses it; it returns the families and the page's text.
func Scrape(t testing.TB, url string) (Families, string) {
	t.Helper()
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: got %d, body %s", url, resp.StatusCode, body)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), "content type: got %q", resp.Header.Get("Content-Type"))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err, "the page is Prometheus text")
	return Families(fams), string(body)
}

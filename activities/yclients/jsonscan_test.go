package yclients

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/stretchr/testify/require"
)

// FuzzSplitAnswer: a REST answer's envelope read in one pass is what encoding/json reads, for
// every body (refusals included: decodeData answers those with an APIError).
func FuzzSplitAnswer(f *testing.F) {
	for _, s := range []string{
		`{"success":true,"data":[{"id":1,"datetime":"2026-12-05T10:00:00+03:00"}],"meta":{"total_count":1}}`,
		`{"success":false,"data":null,"meta":{"message":"Запись не найдена"}}`,
		`{"success":"1","data":{"id":962302,"title":"Салон"},"meta":[]}`,
		`{"success":true,"data":[],"meta":[]} `,
		`{"success":null,"data":{}}`,
		`{"success":"maybe","data":[]}`,
		`{"Success":false,"data":[]}`,
		`{"success":true,"DATA":[1]}`,
		`{"success":true,"data":[1],"data":[2]}`,
		`{"success":true,"data":[1]} {}`,
		`{"succ\u0065ss":false,"data":[]}`,
		`{"success":[],"data":[]}`,
		`{"errors":{"code":401,"message":"Unauthorized"},"meta":{"message":"Не авторизован"}}`,
		`{"data":`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := splitAnswer(body)
		var ref answerEnvelope
		refErr := json.Unmarshal(body, &ref)
		require.Equal(t, fmt.Sprint(refErr), fmt.Sprint(err), "splitAnswer's error against encoding/json's")
		if err == nil {
			require.Equal(t, ref, env, "splitAnswer's envelope against encoding/json's")
		}
	})
}

// TestAnswersAreSplitInOnePass: the answers YClients sends take the one-pass reading, and
// those it cannot read as encoding/json would are left to encoding/json.
func TestAnswersAreSplitInOnePass(t *testing.T) {
	var raw [3]jsontext.Value
	for body, plain := range map[string]bool{
		`{"success":true,"data":[{"id":1}],"meta":{"total_count":1}}`: true,
		`{"success":false,"data":null,"meta":{"message":"Нет"}}`:      true,
		` {"data":[]}`:                           true,
		`{"Success":false,"data":[]}`:            false,
		`{"success":true,"data":[1],"data":[2]}`: false,
		`{"success":true,"data":[1]} {}`:         false,
		`{"success":true,"data":[1}`:             false,
	} {
		require.Equal(t, plain, scanObject([]byte(body), answerFields, raw[:]), "%s", body)
	}
}

// BenchmarkSplitAnswer: finding the data of a records page (100 of the reference's records,
// 100 KB) in one pass against encoding/json's decoding of the envelope, in the same run.
func BenchmarkSplitAnswer(b *testing.B) {
	var wh Webhook
	require.NoError(b, json.Unmarshal([]byte(webhookSamples[1]), &wh))
	page := []byte(`{"success":true,"data":[`)
	for i := range 100 {
		if i > 0 {
			page = append(page, ',')
		}
		page = append(page, wh.Data...)
	}
	page = append(page, `],"meta":{"total_count":100}}`...)
	for _, c := range []struct {
		name  string
		split func([]byte) (answerEnvelope, error)
	}{{"one-pass", splitAnswer}, {"encoding-json", func(body []byte) (env answerEnvelope, err error) {
		return env, json.Unmarshal(body, &env)
	}}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if env, err := c.split(page); err != nil || len(env.Data) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}

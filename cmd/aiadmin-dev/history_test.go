package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/aiadmin/aiadmin/activities/whatsapp"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func protoJSON(m proto.Message) (json.RawMessage, error) {
	return protojson.Marshal(m)
}

// phonesInHistory lists the failures in a workflow run's history whose text names a phone
// number or a JID in clear: failure messages, and the messages and reasons built from them
// (operator alerts, message outcomes). The salon's own linked number is installation state,
// not a failure, and is not looked at.
func phonesInHistory(t testing.TB, c client.Client, workflowID, runID string) []string {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var found []string
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		raw, err := protojson.Marshal(ev)
		require.NoError(t, err)
		var texts []string
		for _, m := range failureMessage.FindAllStringSubmatch(string(raw), -1) {
			texts = append(texts, m[1])
		}
		for _, m := range payloadData.FindAllStringSubmatch(string(raw), -1) {
			b, err := base64.StdEncoding.DecodeString(m[1])
			if err != nil {
				continue
			}
			for _, f := range payloadText.FindAllStringSubmatch(string(b), -1) {
				texts = append(texts, f[1])
			}
		}
		for _, text := range texts {
			if whatsapp.RedactPhones(text) != text {
				found = append(found, fmt.Sprintf("event %d (%s): %s", ev.GetEventId(), ev.GetEventType(), text))
			}
		}
	}
	return found
}

var (
	// payloadData finds the base64 data of payloads in an event's JSON.
	payloadData = regexp.MustCompile(`"data":\s*"([A-Za-z0-9+/=]+)"`)
	// failureMessage finds the messages of failures (and their causes) in an event's JSON.
	failureMessage = regexp.MustCompile(`"message":\s*"((?:[^"\\]|\\.)*)"`)
	// payloadText finds the free-text fields our payloads carry: alert messages, outcome reasons,
	// pairing errors.
	payloadText = regexp.MustCompile(`"(?:Message|Reason|Error)":\s*"((?:[^"\\]|\\.)*)"`)
)

// Package pii keeps clients' personal data (names, phone numbers) out of Temporal in clear
// text: values of types marked Sensitive are encoded as "json/sensitive" and then encrypted
// (AES-256-GCM, SECRET_KEY) by a payload codec; everything else stays readable in the Web UI,
// so operators still see every installation's state.
package pii

import (
	"encoding/json"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/aiadmin/aiadmin/db/secretbox"
)

// Sensitive marks a type whose payloads carry personal data.
type Sensitive interface {
	SensitivePayload()
}

// Encodings written into payload metadata.
const (
	EncodingSensitive = "json/sensitive"
	EncodingEncrypted = "binary/encrypted"
	metadataEncoding  = "encoding"
	metadataKeyID     = "encryption-key-id"
	// payloadAAD binds the sealed payloads to their use. It is also what the first payloads
	// named as their key ID, before keys had IDs of their own.
	payloadAAD = "aiadmin-secret-key-v1"
)

// DataConverter is the SDK's default data converter with Sensitive values encrypted by box.
func DataConverter(box *secretbox.Box) converter.DataConverter {
	parent := converter.NewCompositeDataConverter(
		converter.NewNilPayloadConverter(),
		converter.NewByteSlicePayloadConverter(),
		converter.NewProtoJSONPayloadConverter(),
		converter.NewProtoPayloadConverter(),
		sensitiveConverter{},
		converter.NewJSONPayloadConverter(),
	)
	return converter.NewCodecDataConverter(parent, &Codec{Box: box})
}

// sensitiveConverter encodes Sensitive values as JSON under their own encoding, so the codec
// can tell them apart.
type sensitiveConverter struct{}

func (sensitiveConverter) ToPayload(value any) (*commonpb.Payload, error) {
	if _, ok := value.(Sensitive); !ok {
		return nil, nil
	}
	data, err := json.Marshal(value)
	if err != nil {
		return nil, fmt.Errorf("pii: encode: %w", err)
	}
	return &commonpb.Payload{Metadata: map[string][]byte{metadataEncoding: []byte(EncodingSensitive)}, Data: data}, nil
}

func (sensitiveConverter) FromPayload(payload *commonpb.Payload, valuePtr any) error {
	if err := json.Unmarshal(payload.GetData(), valuePtr); err != nil {
		return fmt.Errorf("pii: decode: %w", err)
	}
	return nil
}

func (sensitiveConverter) ToString(payload *commonpb.Payload) string { return "[personal data]" }

func (sensitiveConverter) Encoding() string { return EncodingSensitive }

// Codec encrypts json/sensitive payloads and decrypts them back; other payloads pass.
type Codec struct {
	Box *secretbox.Box
}

// Encode implements converter.PayloadCodec.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metadataEncoding]) != EncodingSensitive {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, err
		}
		sealed, err := c.Box.Seal(plain, []byte(payloadAAD))
		if err != nil {
			return nil, fmt.Errorf("pii: seal: %w", err)
		}
		out[i] = &commonpb.Payload{Metadata: map[string][]byte{
			metadataEncoding: []byte(EncodingEncrypted), metadataKeyID: []byte(c.Box.SealingKeyID())}, Data: sealed}
	}
	return out, nil
}

// Decode implements converter.PayloadCodec.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		// The sealed value names its key; any key of the ring opens what it sealed.
		plain, err := c.Box.Open(p.GetData(), []byte(payloadAAD))
		if err != nil {
			return nil, fmt.Errorf("pii: open (key %s not in SECRET_KEYS?): %w", p.GetMetadata()[metadataKeyID], err)
		}
		var inner commonpb.Payload
		if err := proto.Unmarshal(plain, &inner); err != nil {
			return nil, err
		}
		out[i] = &inner
	}
	return out, nil
}

package sqsqueue

import (
	"encoding/base64"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// encodingAttribute names the message attribute that marks a base64-encoded body. It
// is absent on a body sent as it is.
const encodingAttribute = "ecluse-body-encoding"

// encodingAttribute's values: a base64 body, or an empty payload (SQS refuses an
// empty body, so one placeholder character stands in for it).
const (
	encodingBase64 = "base64"
	encodingEmpty  = "empty"
	emptyBody      = "-"
)

// encodeBody returns the text SQS carries for payload, and the message attributes
// that go with it. SQS bodies are text limited to the XML character set: a payload
// that is valid UTF-8 made only of those characters (every JSON job) travels as it
// is; any other is base64-encoded and marked with encodingAttribute, and an empty one
// is marked as such.
func encodeBody(payload []byte) (string, map[string]types.MessageAttributeValue) {
	switch {
	case len(payload) == 0:
		return emptyBody, encodingMark(encodingEmpty)
	case sendable(payload):
		return string(payload), nil
	default:
		return base64.StdEncoding.EncodeToString(payload), encodingMark(encodingBase64)
	}
}

func encodingMark(value string) map[string]types.MessageAttributeValue {
	return map[string]types.MessageAttributeValue{
		encodingAttribute: {DataType: aws.String("String"), StringValue: aws.String(value)},
	}
}

// decodeBody reverses encodeBody.
func decodeBody(body string, attrs map[string]types.MessageAttributeValue) ([]byte, error) {
	a, ok := attrs[encodingAttribute]
	if !ok {
		return []byte(body), nil
	}
	switch v := aws.ToString(a.StringValue); v {
	case encodingEmpty:
		return []byte{}, nil
	case encodingBase64:
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, fmt.Errorf("decode base64 body: %w", err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("unknown body encoding %q", v)
	}
}

// sendable reports whether b is valid UTF-8 made only of the characters SQS accepts
// in a body: #x9, #xA, #xD, #x20 to #xD7FF, #xE000 to #xFFFD, #x10000 to #x10FFFF.
func sendable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		switch {
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return true
}

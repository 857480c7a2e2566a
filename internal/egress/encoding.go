package egress

import "context"

type callerDecodesKey struct{}

// WithCallerDecoding marks a request whose caller asks for a compressed body itself
// (it sets Accept-Encoding) and decodes it with its own size bound. Without the mark
// the guarded client drops a caller's Accept-Encoding, so the transport negotiates gzip
// and hands back a decoded body that the caller's limit then bounds. With it the
// caller sees the encoded bytes and their Content-Length, which lets it size (and
// account for) its buffers before decoding, and it must bound the decoded size itself.
func WithCallerDecoding(ctx context.Context) context.Context {
	return context.WithValue(ctx, callerDecodesKey{}, true)
}

// callerDecodes reports whether ctx carries WithCallerDecoding's mark.
func callerDecodes(ctx context.Context) bool {
	v, _ := ctx.Value(callerDecodesKey{}).(bool)
	return v
}

package egress

import "io"

// LimitReader returns a reader that yields at most max bytes of r and then fails with
// a *TooLargeError (errors.Is(err, ErrTooLarge)) instead of io.EOF if r holds more. A
// body of exactly max bytes reads cleanly. A negative max is treated as zero. Close
// closes r.
//
// Apply it to the body the guarded client returns: that body is already decoded (the
// client negotiates gzip itself and inflates it), so the limit bounds the bytes the
// caller will actually parse and a compression bomb fails here.
func LimitReader(r io.ReadCloser, max int64) io.ReadCloser {
	if max < 0 {
		max = 0
	}
	return &limitedBody{r: r, remaining: max, limit: max}
}

type limitedBody struct {
	r         io.ReadCloser
	remaining int64
	limit     int64
	err       error
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Ask for one byte past the budget so that an over-long body is noticed as soon as
	// it is, not on the following call.
	if int64(len(p)) > l.remaining {
		p = p[:l.remaining+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.remaining {
		n = int(l.remaining)
		l.remaining = 0
		l.err = &TooLargeError{Limit: l.limit}
		return n, l.err
	}
	l.remaining -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.r.Close() }

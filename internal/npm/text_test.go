package npm

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

func TestText(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *textBuilder)
		want  string
		parts int
	}{
		{"empty", func(*textBuilder) {}, "", 0},
		{"generated only", func(b *textBuilder) { b.side = append(b.side, "{}"...) }, "{}", 1},
		{"short reference copied", func(b *textBuilder) {
			b.side = append(b.side, '[')
			b.ref("abc")
			b.side = append(b.side, ']')
		}, "[abc]", 1},
		{"long reference kept", func(b *textBuilder) {
			b.side = append(b.side, '[')
			b.ref(strings.Repeat("x", refMin))
			b.side = append(b.side, ']')
		}, "[" + strings.Repeat("x", refMin) + "]", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTextBuilder()
			tt.build(b)
			txt := b.text()
			b.release()
			var w bytes.Buffer
			if n, err := txt.WriteTo(&w); err != nil || int(n) != len(tt.want) {
				t.Fatalf("WriteTo = %d, %v", n, err)
			}
			if w.String() != tt.want || string(txt.Bytes()) != tt.want || txt.String() != tt.want || txt.Len() != len(tt.want) {
				t.Errorf("text = %q / %q / %q (len %d), want %q", w.String(), txt.Bytes(), txt.String(), txt.Len(), tt.want)
			}
			if len(txt.parts) != tt.parts {
				t.Errorf("%d parts, want %d", len(txt.parts), tt.parts)
			}
		})
	}
	if got := TextOf([]byte("ab")).String(); got != "ab" {
		t.Errorf("TextOf = %q", got)
	}
}

// TestRenderTextSharesDocument: a rendered document refers to the parsed document's
// manifests instead of copying them, so a cached rendering costs little memory.
func TestRenderTextSharesDocument(t *testing.T) {
	raw := []byte(`{"name":"x","versions":{"1.0.0":{"version":"1.0.0","dependencies":{"a":"` + strings.Repeat("1", 300) +
		`"},"dist":{"tarball":"https://upstream.example.test/x/-/x-1.0.0.tgz","integrity":"sha512-x"}}}}`)
	p := mustParse(t, raw, "x")
	for _, render := range []func() (Text, error){
		func() (Text, error) { return p.RenderText(nil, gateURL) },
		func() (Text, error) { return p.RenderAbbreviatedText(nil, gateURL) },
	} {
		txt, err := render()
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := uintptr(unsafe.Pointer(&raw[0])), uintptr(unsafe.Pointer(&raw[len(raw)-1]))
		shared := 0
		for _, part := range txt.parts {
			if a := uintptr(unsafe.Pointer(unsafe.StringData(part))); a >= lo && a <= hi {
				shared += len(part)
			}
		}
		if shared < 300 {
			t.Errorf("only %d bytes of the rendering refer to the document: %q", shared, txt.parts)
		}
	}
}

// TestConcurrentParseAndRender: parses and renderings running at once share the pooled
// scratch memory; each must still produce exactly what it produces alone.
func TestConcurrentParseAndRender(t *testing.T) {
	docs := []fixture{fixtures[3], fixtures[4], fixtures[5]} // react, express, lodash
	want := make([][2]string, len(docs))
	for i, fx := range docs {
		p := mustParse(t, bytes.Clone(loadFixture(t, fx.file)), fx.name)
		full, err := p.Render(nil, gateURL)
		if err != nil {
			t.Fatal(err)
		}
		abbr, err := p.RenderAbbreviated(nil, gateURL)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = [2]string{string(full), string(abbr)}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 4 {
				i := (g + round) % len(docs)
				p, err := ParsePackument(bytes.Clone(loadFixture(t, docs[i].file)), docs[i].name, Limits{})
				if err != nil {
					errs <- err.Error()
					return
				}
				full, err1 := p.RenderText(nil, gateURL)
				abbr, err2 := p.RenderAbbreviatedText(nil, gateURL)
				if err1 != nil || err2 != nil || full.String() != want[i][0] || abbr.String() != want[i][1] {
					errs <- "a concurrent rendering of " + docs[i].name + " differs from the sequential one"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestTextSplit(t *testing.T) {
	b := newTextBuilder()
	defer b.release()
	doc := strings.Repeat("abcdefghij", 30)
	b.ref(doc[:100])
	b.side = append(b.side, "0123456789"...)
	b.ref(doc[100:300])
	whole := b.text()
	for _, n := range []int{-1, 0, 1, 7, 64, 100, 109, 110, 111, 310, 311, 1000} {
		parts := whole.Split(n)
		var joined strings.Builder
		for i, p := range parts {
			if n > 0 && i < len(parts)-1 && p.Len() != n {
				t.Errorf("Split(%d) part %d has %d bytes, want %d", n, i, p.Len(), n)
			}
			if p.Len() == 0 {
				t.Errorf("Split(%d) part %d is empty", n, i)
			}
			joined.WriteString(p.String())
		}
		if joined.String() != whole.String() {
			t.Errorf("Split(%d) parts join to %q, want %q", n, joined.String(), whole.String())
		}
	}
}

// countingWriter counts the writes it receives.
type countingWriter struct {
	strings.Builder
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Builder.Write(p)
}

// TestTextWriteToCoalesces: many short pieces reach the writer in few writes, long
// ones as they are, and the bytes are exactly the text.
func TestTextWriteToCoalesces(t *testing.T) {
	b := newTextBuilder()
	defer b.release()
	doc := strings.Repeat("0123456789abcdef", 20000) // 320 KB
	for i := 0; i+100 <= 200000; i += 100 {
		b.ref(doc[i : i+100])
		b.side = append(b.side, ',')
	}
	b.ref(doc[:coalesceSize]) // one long piece
	text := b.text()
	var w countingWriter
	n, err := text.WriteTo(&w)
	if err != nil || n != int64(text.Len()) || w.String() != text.String() {
		t.Fatalf("WriteTo wrote %d bytes (err %v), want the %d-byte text exactly", n, err, text.Len())
	}
	if max := text.Len()/(coalesceSize/2) + 2; w.writes > max {
		t.Errorf("WriteTo made %d writes for %d pieces, want at most %d", w.writes, len(text.parts), max)
	}
}

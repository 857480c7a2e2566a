package gomod

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var infoTests = []struct {
	name string
	body string
	want string // requested version
	info Info
	bad  bool
}{
	{name: "plain", body: `{"Version":"v1.2.3","Time":"2019-10-01T12:00:00Z"}`, want: "v1.2.3",
		info: Info{Version: "v1.2.3", Time: time.Date(2019, 10, 1, 12, 0, 0, 0, time.UTC)}},
	{name: "offset normalised to UTC", body: `{"Version":"v1.2.3","Time":"2019-10-01T14:00:00+02:00"}`, want: "v1.2.3",
		info: Info{Version: "v1.2.3", Time: time.Date(2019, 10, 1, 12, 0, 0, 0, time.UTC)}},
	{name: "fractional seconds", body: `{"Version":"v1.2.3","Time":"2019-10-01T12:00:00.5Z"}`, want: "v1.2.3",
		info: Info{Version: "v1.2.3", Time: time.Date(2019, 10, 1, 12, 0, 0, 5e8, time.UTC)}},
	{name: "origin and names ignored", body: `{"Version":"v1.2.3","Time":"2019-10-01T12:00:00Z","Name":"abc","Short":"abc","Origin":{"VCS":"git","URL":"https://example.com/m","Hash":"abc"}}`,
		want: "v1.2.3", info: Info{Version: "v1.2.3", Time: time.Date(2019, 10, 1, 12, 0, 0, 0, time.UTC)}},
	{name: "any version for @latest", body: `{"Version":"v0.0.0-20191109021931-daa7c04131f5","Time":"2019-11-09T02:19:31Z"}`,
		info: Info{Version: "v0.0.0-20191109021931-daa7c04131f5", Time: time.Date(2019, 11, 9, 2, 19, 31, 0, time.UTC)}},

	{name: "other version", body: `{"Version":"v1.2.4","Time":"2019-10-01T12:00:00Z"}`, want: "v1.2.3", bad: true},
	{name: "non-canonical version", body: `{"Version":"v1.2","Time":"2019-10-01T12:00:00Z"}`, bad: true},
	{name: "branch", body: `{"Version":"master","Time":"2019-10-01T12:00:00Z"}`, bad: true},
	{name: "no version", body: `{"Time":"2019-10-01T12:00:00Z"}`, bad: true},
	{name: "no time", body: `{"Version":"v1.2.3"}`, want: "v1.2.3", bad: true},
	{name: "bad time", body: `{"Version":"v1.2.3","Time":"yesterday"}`, want: "v1.2.3", bad: true},
	{name: "time without zone", body: `{"Version":"v1.2.3","Time":"2019-10-01T12:00:00"}`, want: "v1.2.3", bad: true},
	{name: "zero time", body: `{"Version":"v1.2.3","Time":"0001-01-01T00:00:00Z"}`, want: "v1.2.3", bad: true},
	{name: "time as number", body: `{"Version":"v1.2.3","Time":1569931200}`, want: "v1.2.3", bad: true},
	{name: "unknown member", body: `{"Version":"v1.2.3","Time":"2019-10-01T12:00:00Z","Evil":1}`, want: "v1.2.3", bad: true},
	{name: "duplicate member", body: `{"Version":"v1.2.3","Version":"v1.2.3","Time":"2019-10-01T12:00:00Z"}`, want: "v1.2.3", bad: true},
	{name: "trailing data", body: `{"Version":"v1.2.3","Time":"2019-10-01T12:00:00Z"} {}`, want: "v1.2.3", bad: true},
	{name: "array", body: `[]`, bad: true},
	{name: "empty", body: ``, bad: true},
	{name: "invalid UTF-8", body: "{\"Version\":\"v1.2.3\",\"Time\":\"2019-10-01T12:00:00Z\",\"Name\":\"\xff\"}", want: "v1.2.3", bad: true},
	{name: "too large", body: `{"Version":"v1.2.3","Time":"2019-10-01T12:00:00Z","Name":"` + strings.Repeat("a", MaxInfoBytes) + `"}`, want: "v1.2.3", bad: true},
}

func TestParseInfo(t *testing.T) {
	for _, tt := range infoTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInfo([]byte(tt.body), tt.want)
			if tt.bad {
				var ie *InfoError
				if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidInfo) {
					t.Fatalf("ParseInfo(%s) = %+v, %v, want an *InfoError", tt.name, got, err)
				}
				return
			}
			if err != nil || got.Version != tt.info.Version || !got.Time.Equal(tt.info.Time) || got.Time.Location() != time.UTC {
				t.Fatalf("ParseInfo(%s) = %+v, %v, want %+v", tt.body, got, err, tt.info)
			}
			body, err := RenderInfo(got)
			if err != nil {
				t.Fatalf("RenderInfo(%+v) = %v", got, err)
			}
			back, err := ParseInfo(body, got.Version)
			if err != nil || back != got {
				t.Errorf("ParseInfo(RenderInfo(%+v)) = %+v, %v, want the same", got, back, err)
			}
		})
	}
}

func TestRenderInfo(t *testing.T) {
	got, err := RenderInfo(Info{Version: "v1.2.3", Time: time.Date(2019, 10, 1, 14, 0, 0, 0, time.FixedZone("x", 7200))})
	if want := `{"Version":"v1.2.3","Time":"2019-10-01T12:00:00Z"}`; err != nil || string(got) != want {
		t.Fatalf("RenderInfo = %s, %v, want %s", got, err, want)
	}
	for _, info := range []Info{
		{Version: "master", Time: time.Now()},
		{Version: "v1.2.3"},
		{Version: "v1.2.3", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := RenderInfo(info); !errors.Is(err, ErrInvalidInfo) {
			t.Errorf("RenderInfo(%+v) = %v, want ErrInvalidInfo", info, err)
		}
	}
}

func TestParseInfoTimeRange(t *testing.T) {
	for _, tm := range []string{"0000-06-01T00:00:00Z", "9999-12-31T23:00:00-02:00", "0001-01-01T00:30:00+01:00"} {
		body := `{"Version":"v1.0.0","Time":"` + tm + `"}`
		if got, err := ParseInfo([]byte(body), ""); !errors.Is(err, ErrInvalidInfo) {
			t.Errorf("ParseInfo(%s) = %+v, %v, want ErrInvalidInfo", body, got, err)
		}
	}
}

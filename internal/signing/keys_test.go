package signing

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseKeys(t *testing.T) {
	r := mustKeyring(t, "rotation.pem", rotationNow)
	p256, ed := r.PublicKeys()[2], r.PublicKeys()[1]
	entry := func(fields string) string { return "{" + fields + "}" }
	good := func(pk PublicKey) string {
		return fmt.Sprintf(`"keyid":%q,"keytype":%q,"scheme":%q,"key":%q`, pk.KeyID, pk.KeyType, pk.Scheme, pk.Key)
	}
	doc := func(entries ...string) string { return `{"keys":[` + strings.Join(entries, ",") + `]}` }
	exp := time.Date(2025, 1, 29, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		name        string
		body        string
		wantKeyIDs  []string
		wantExpires []*time.Time // checked when non-nil
		wantErr     string
	}{
		{name: "registry", body: registryKeysBody, wantKeyIDs: []string{registryKeyID}, wantExpires: []*time.Time{&exp}},
		{name: "empty", body: `{"keys":[]}`, wantKeyIDs: []string{}},
		{name: "two keys, null expires", body: doc(entry(`"expires":null,`+good(p256)), entry(good(ed))),
			wantKeyIDs: []string{p256.KeyID, ed.KeyID}, wantExpires: []*time.Time{nil, nil}},
		{name: "unknown fields ignored", body: `{"extra":1,"keys":[` + entry(good(p256)+`,"note":{"a":[1,2]}`) + `]}`,
			wantKeyIDs: []string{p256.KeyID}},
		{name: "empty expires is none", body: doc(entry(`"expires":"",` + good(p256))), wantKeyIDs: []string{p256.KeyID},
			wantExpires: []*time.Time{nil}},
		{name: "key with newlines", body: doc(entry(strings.Replace(good(p256), p256.Key, p256.Key[:20]+`\n`+p256.Key[20:], 1))),
			wantKeyIDs: []string{p256.KeyID}},
		{name: "unsupported keytype kept", body: doc(entry(`"keyid":"SHA256:r","keytype":"ssh-rsa","scheme":"ssh-rsa","key":"AAAA"`)),
			wantKeyIDs: []string{"SHA256:r"}},
		{name: "field names are exact", body: doc(entry(`"KEYID":"` + p256.KeyID + `","keytype":"ecdsa-sha2-nistp256","key":"` + p256.Key + `"`)),
			wantKeyIDs: []string{}},
		{name: "dropped entries", body: doc(
			`1`, `null`, `"x"`, `[]`,
			entry(good(p256)+`,"expires":"tomorrow"`),
			entry(good(p256)+`,"expires":12`),
			entry(`"keytype":"ecdsa-sha2-nistp256","key":"`+p256.Key+`"`),
			entry(`"keyid":"","keytype":"ecdsa-sha2-nistp256","key":"`+p256.Key+`"`),
			entry(`"keyid":5,"keytype":"ecdsa-sha2-nistp256","key":"`+p256.Key+`"`),
			entry(`"keyid":"a","keytype":"ecdsa-sha2-nistp256"`),
			entry(`"keyid":"a","keytype":"ecdsa-sha2-nistp256","key":"!!"`),
			entry(`"keyid":"a","keytype":"ecdsa-sha2-nistp256","key":"AAAA"`),
			entry(`"keyid":"a","keytype":"ecdsa-sha2-nistp256","key":"`+ed.Key+`"`),
			entry(`"keyid":"a","keytype":"ssh-ed25519","key":"`+p256.Key+`"`),
			entry(`"keyid":"a","keytype":"ecdsa-sha2-nistp256","scheme":7,"key":"`+p256.Key+`"`),
			entry(`"keyid":"a","key":"`+p256.Key+`"`),
			entry(good(ed)),
		), wantKeyIDs: []string{ed.KeyID}},

		{name: "not json", body: `nope`, wantErr: "not a JSON object"},
		{name: "array", body: `[]`, wantErr: "not a JSON object"},
		{name: "null", body: `null`, wantErr: "not a JSON object"},
		{name: "no keys", body: `{}`, wantErr: `no "keys" array`},
		{name: "keys null", body: `{"keys":null}`, wantErr: `"keys" is not an array`},
		{name: "keys object", body: `{"keys":{}}`, wantErr: `"keys" is not an array`},
		{name: "65 keys", body: doc(strings.Split(strings.Repeat("1,", 65), ",")[:65]...), wantErr: "65 keys is more than 64"},
		{name: "too large", body: `{"keys":[],"pad":"` + strings.Repeat("x", 1<<20) + `"}`, wantErr: "over the 1 MiB limit"},
		{name: "trailing garbage", body: `{"keys":[]} x`, wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeys([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseKeys() = %v, want an error containing %q", err, tt.wantErr)
				}
				if len(err.Error()) > 200 {
					t.Errorf("ParseKeys() error is %d bytes, want it short", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKeys() = %v", err)
			}
			if got.Keys == nil {
				t.Error("ParseKeys().Keys = nil, want a non-nil slice")
			}
			var ids []string
			for _, k := range got.Keys {
				ids = append(ids, k.KeyID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.wantKeyIDs) {
				t.Errorf("ParseKeys() keyids = %v, want %v", ids, tt.wantKeyIDs)
			}
			for i, want := range tt.wantExpires {
				if i >= len(got.Keys) {
					break
				}
				g := got.Keys[i].Expires
				if (g == nil) != (want == nil) || (g != nil && !g.Equal(*want)) {
					t.Errorf("key %d Expires = %v, want %v", i, g, want)
				}
			}
		})
	}
}

func TestParseKeysSurvivesPublish(t *testing.T) {
	// Every keyring, up to the 64-key limit, publishes a document ParseKeys takes.
	var pemData []byte
	for range maxKeys {
		pemData = append(pemData, freshEd25519PEM(t)...)
	}
	r, err := ParsePEM(pemData, rotationNow)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"keys":[`)
	for i, pk := range r.PublicKeys() {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"expires":null,"keyid":%q,"keytype":%q,"scheme":%q,"key":%q}`, pk.KeyID, pk.KeyType, pk.Scheme, pk.Key)
	}
	buf.WriteString("]}")
	doc, err := ParseKeys(buf.Bytes())
	if err != nil || len(doc.Keys) != maxKeys {
		t.Fatalf("ParseKeys(64 published keys) = %d keys, %v; want %d", len(doc.Keys), err, maxKeys)
	}
}

package answer

import "testing"

// BenchmarkDecode measures request validation alone, on a request with
// every fact known.
func BenchmarkDecode(b *testing.B) {
	c := policy(b).Catalog
	body := []byte(`{"symptom":"code_not_received","lang":"en","facts":{"identifier":"ana@example.com","registered_emails":["Ana@Example.com"],"registered_phones":["+34 600 111 222"],"identifier_registered":true,"opted_out":false,"channels_tried":["email"],"spam_checked":false,"online":true,"incognito":true,"cookies_autodelete":false,"new_device":true,"message_published":true,"vpn":false,"codes_requested":3,"used_latest_code":false}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(c, body); err != nil {
			b.Fatal(err)
		}
	}
}

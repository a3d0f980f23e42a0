package s3_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail/sink/s3"
)

// The GET Object example of the S3 API reference's "Signature Calculations
// for the Authorization Header" (examplebucket, bytes 0-9 of test.txt).
func TestSignAWSExample(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("Range", "bytes=0-9")
	s := &s3.Signer{
		AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		Region: "us-east-1", Service: "s3",
	}
	s.Sign(req, s3.EmptyPayloadHash, time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date," +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization:\n got %s\nwant %s", got, want)
	}
}

func TestURIEncode(t *testing.T) {
	for in, want := range map[string]string{
		"/a b/c~d_e.f-g":  "/a%20b/c~d_e.f-g",
		"/ü/+=&?":         "/%C3%BC/%2B%3D%26%3F",
		"hashtrail/x/1.j": "hashtrail/x/1.j",
	} {
		if got := s3.URIEncode(in, false); got != want {
			t.Errorf("URIEncode(%q) = %q, want %q", in, got, want)
		}
	}
	if got := s3.URIEncode("a/b", true); got != "a%2Fb" {
		t.Errorf("URIEncode with slash = %q", got)
	}
}

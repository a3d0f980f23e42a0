package client_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hashtrail/hashtrail/client"
)

// Verify an evidence bundle with the installation's log key, pinned by the
// auditor (here the test key of the golden bundle).
func ExampleBundleSource() {
	key, _ := os.ReadFile("../testdata/bundle/log-key.txt")
	server, keys, err := client.ParseLogKeys([]string{strings.TrimSpace(string(key))})
	if err != nil {
		panic(err)
	}
	f, err := os.Open("../testdata/bundle/example.json")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	b, err := client.ReadBundle(f)
	if err != nil {
		panic(err)
	}
	v := &client.Verifier{ServerName: server, Keys: keys}
	rep, err := v.Verify(context.Background(), client.BundleSource{B: b})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.OK(), rep.Entries, "events,", rep.Redacted, "redacted,", rep.Purged, "purged")
	// Output: true 5 events, 1 redacted, 1 purged
}

// Verify a tenant's log on a running server as an outside party, remembering
// the checkpoint seen for next time.
func ExampleAPISource() {
	server, keys, err := client.ParseLogKeys([]string{os.Getenv("HASHTRAIL_LOG_KEY")}) // pinned, never fetched
	if err != nil {
		fmt.Println("no log key")
		return
	}
	path, _ := client.DefaultStatePath()
	state, err := client.LoadState(path)
	if err != nil {
		panic(err)
	}
	v := &client.Verifier{ServerName: server, Keys: keys, State: state}
	src := &client.APISource{
		Get:      client.HTTPGetter("https://audit.example.com", os.Getenv("HASHTRAIL_API_KEY"), nil),
		TenantID: "acme",
		Sample:   500,
	}
	rep, err := v.Verify(context.Background(), src)
	if err != nil {
		panic(err)
	}
	if !rep.OK() {
		fmt.Println("FAILED:", rep.Failure)
		return
	}
	if err := state.Save(); err != nil {
		panic(err)
	}
	fmt.Println("OK:", rep.Summary())
}

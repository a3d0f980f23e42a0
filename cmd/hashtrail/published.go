package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/merkle"
)

// published is a checkpoint that parties outside the store may hold: one
// the store kept (the server serves the latest at once, and puts it in
// proofs, receipts, bundles and the installation log), or one a node, a
// verifier's state or a witness showed. A restore must not go behind it.
type published struct {
	tenant string // "" for the installation log
	size   int64
	root   merkle.Hash
	from   string // where it was found, for messages
}

// logName names the log of p in messages.
func (p published) logName() string {
	if p.tenant == "" {
		return "installation log"
	}
	return "log " + p.tenant
}

// latestPublished returns the latest checkpoint of every tenant's log and of
// the installation log that st keeps.
func latestPublished(ctx context.Context, st hashtrail.Store, from string) ([]published, error) {
	ts, err := st.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var out []published
	for _, tn := range ts {
		cp, err := st.LatestCheckpoint(ctx, tn.ID)
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, published{tenant: tn.ID, size: cp.Size, root: cp.Root, from: from})
	}
	cp, err := st.LatestInstallationCheckpoint(ctx, false)
	if err == nil {
		out = append(out, published{size: cp.Size, root: cp.Root, from: from})
	} else if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return nil, err
	}
	return out, nil
}

// rollbacks compares the logs of a backup with published checkpoints and
// returns, for each checkpoint the backup does not hold, why: its log is
// shorter (restoring would roll it back), missing, or holds another history
// at that size. what names the store in messages ("the backup"), doing what
// would be done with it ("restoring it").
func rollbacks(ctx context.Context, backup hashtrail.Store, pubs []published, what, doing string) ([]string, error) {
	var problems []string
	for _, p := range pubs {
		var size int64
		var read merkle.HashReaderFunc
		if p.tenant == "" {
			n, err := backup.InstallationSize(ctx)
			if err != nil {
				return nil, err
			}
			size = n
			read = func(idx []int64) ([]merkle.Hash, error) { return backup.ReadInstallationHashes(ctx, idx) }
		} else {
			tn, err := backup.Tenant(ctx, p.tenant)
			if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
				problems = append(problems, fmt.Sprintf("%s has no log %s, but its checkpoint %d (root %s) was already published (%s); %s would remove the log",
					what, p.tenant, p.size, shortRoot(p.root[:]), p.from, doing))
				continue
			}
			if err != nil {
				return nil, err
			}
			size = tn.Size
			read = func(idx []int64) ([]merkle.Hash, error) { return backup.ReadHashes(ctx, p.tenant, idx) }
		}
		if size < p.size {
			unit := "events"
			if p.tenant == "" {
				unit = "entries"
			}
			problems = append(problems, fmt.Sprintf("%s's %s has %d %s but checkpoint %d (root %s) was already published (%s); %s would roll the log back",
				what, p.logName(), size, unit, p.size, shortRoot(p.root[:]), p.from, doing))
			continue
		}
		root, err := merkle.TreeHash(p.size, read)
		if err != nil {
			return nil, fmt.Errorf("%s's %s at size %d: %w", what, p.logName(), p.size, err)
		}
		if root != p.root {
			problems = append(problems, fmt.Sprintf("%s's %s has root %s at size %d, but checkpoint %d (root %s) was published (%s): it holds another history",
				what, p.logName(), shortRoot(root[:]), p.size, p.size, shortRoot(p.root[:]), p.from))
		}
	}
	return problems, nil
}

// publishedFrom reads published checkpoints from where arg says: a running
// node (http:// or https://: its installation checkpoint and, with apiKey,
// every tenant's latest), another store (a store URL or a data directory),
// a verifier state file (hashtrail verify --state) or a file of signed
// checkpoints, one after another. Checkpoints are matched to logs by their
// origin under serverName and must verify with keys (when there are any):
// a note the installation never signed was never published by it.
func publishedFrom(ctx context.Context, arg, apiKey, serverName string, keys []ed25519.PublicKey, stderr io.Writer) ([]published, error) {
	var notes [][]byte
	switch {
	case strings.HasPrefix(arg, "http://"), strings.HasPrefix(arg, "https://"):
		var err error
		if notes, err = nodeCheckpoints(ctx, arg, apiKey, stderr); err != nil {
			return nil, err
		}
	case strings.HasPrefix(arg, "postgres://"), strings.HasPrefix(arg, "postgresql://"), strings.HasPrefix(arg, "sqlite:"), isDir(arg):
		t, err := storeArg(arg)
		if err != nil {
			return nil, err
		}
		st, err := openStoreOffline(ctx, t, stderr)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		return latestPublished(ctx, st, "in the store "+t.describe())
	default:
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
			st, err := client.LoadState(arg)
			if err != nil {
				return nil, err
			}
			for _, origin := range slices.Sorted(maps.Keys(st.Logs)) {
				notes = append(notes, []byte(st.Logs[origin].Checkpoint))
			}
		} else {
			notes = splitNotes(data)
		}
		if len(notes) == 0 {
			return nil, fmt.Errorf("%s holds no signed checkpoint", arg)
		}
	}
	var out []published
	for _, n := range notes {
		p, err := parsePublished(n, serverName, keys, "at "+arg)
		if err != nil {
			return nil, fmt.Errorf("a checkpoint from %s: %w", arg, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// parsePublished reads one signed checkpoint of this installation.
func parsePublished(msg []byte, serverName string, keys []ed25519.PublicKey, from string) (published, error) {
	i := bytes.Index(msg, []byte("\n\n"))
	if i < 0 {
		return published{}, errors.New("not a signed note (no blank line before the signatures)")
	}
	c, err := checkpoint.Parse(msg[:i+1])
	if err != nil {
		return published{}, err
	}
	p := published{size: c.Size, root: c.Root, from: from}
	switch {
	case c.Origin == serverName:
	case strings.HasPrefix(c.Origin, serverName+"/"):
		p.tenant = strings.TrimPrefix(c.Origin, serverName+"/")
	default:
		return published{}, fmt.Errorf("the checkpoint of %q is not of this installation (%s)", c.Origin, serverName)
	}
	if len(keys) > 0 {
		if _, err := checkpoint.Open(msg, c.Origin, keys...); err != nil {
			return published{}, fmt.Errorf("the checkpoint %d of %s does not verify with the installation's log keys: %w", c.Size, c.Origin, err)
		}
	}
	return p, nil
}

// splitNotes splits concatenated signed notes: each is text lines up to a
// blank line, then signature lines ("— ...").
func splitNotes(data []byte) [][]byte {
	var notes [][]byte
	var cur []byte
	state := 0 // 0 between notes, 1 in the text, 2 in the signatures
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if state == 2 && !bytes.HasPrefix(line, []byte("— ")) {
			notes, cur, state = append(notes, cur), nil, 0
		}
		switch state {
		case 0:
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			cur, state = append(cur, line...), 1
		case 1:
			cur = append(cur, line...)
			if string(line) == "\n" {
				state = 2
			}
		case 2:
			cur = append(cur, line...)
		}
	}
	if state == 2 {
		notes = append(notes, cur)
	}
	return notes
}

// nodeCheckpoints fetches a running node's latest checkpoints: the
// installation log's (open to all) and, with an API key that may list
// tenants, every tenant's.
func nodeCheckpoints(ctx context.Context, base, apiKey string, stderr io.Writer) ([][]byte, error) {
	base = strings.TrimRight(base, "/")
	if _, err := url.Parse(base); err != nil {
		return nil, err
	}
	var notes [][]byte
	hc := &http.Client{Timeout: 30 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+api.PathInstallationCheckpoint, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w", base, rootCause(err))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode == http.StatusOK:
		notes = append(notes, data)
	case resp.StatusCode != http.StatusNotFound:
		return nil, fmt.Errorf("GET %s%s: %w", base, api.PathInstallationCheckpoint, problemError(resp, data))
	}
	if apiKey == "" {
		fmt.Fprintf(stderr, "restore: no --api-key for %s: comparing its installation checkpoint only (which covers the tenant checkpoints it holds)\n", base)
		return notes, nil
	}
	svc, err := newHTTPService(base, apiKey)
	if err != nil {
		return nil, err
	}
	tenants, err := svc.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the tenants of %s: %w", base, err)
	}
	get, err := httpGetter(base, apiKey)
	if err != nil {
		return nil, err
	}
	for _, tn := range tenants {
		note, err := get(ctx, "/v1/tenants/"+url.PathEscape(tn.ID)+"/log/checkpoint")
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		notes = append(notes, note)
	}
	return notes, nil
}

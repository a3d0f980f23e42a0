package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/spf13/cobra"
)

// errVerifyFailed is what verify returns once it has printed FAILED, so the
// process exits non-zero.
var errVerifyFailed = errors.New("verification failed")

// verifyFlags are the flags of `hashtrail verify`.
type verifyFlags struct {
	config         *configFlags
	url            string
	apiKey         string
	bundle         string
	tenants        []string
	logKeys        []string
	state          string
	noState        bool
	sample         int
	personalData   bool
	personalFields []string
	workers        int
	witnesses      []string
	witnessQuorum  int
}

// newVerifyCmd builds `hashtrail verify`.
func newVerifyCmd() *cobra.Command {
	var vf verifyFlags
	cmd := &cobra.Command{
		Use:   "verify (--data D | --url U --tenant T --log-key V | --bundle F --log-key V)",
		Short: "Check that tenant logs match their signed checkpoints",
		Long: `Check that tenant logs are what the installation's signed checkpoints say they
are (docs/integrity.md). Every mode ends with one line, "OK: ..." or
"FAILED: ..." naming the first divergence (tenant, seq, event, what differs),
and exits non-zero on failure.

  --data D     offline, on a data directory: rebuild every leaf from its
               event, recompute every tenant's tree (or --tenant's), compare
               every stored tree hash, and check every stored checkpoint and
               its signature. The public key is read from the signing key
               (--signing-key, $HASHTRAIL_SIGNING_KEY, <data>/signing-key.pem)
               unless --log-key pins it; pin it to catch a key replaced along
               with the data.
  --url U      as an outside party, against a running server: the log key is
               pinned with --log-key (never fetched from the server checked);
               checks the latest checkpoint's signature, its consistency with
               the checkpoint seen last time (--state, trust on first use),
               and every event (or a random --sample), each leaf rebuilt from
               the event the server returns.
  --bundle F   an evidence bundle made by 'hashtrail export --format bundle',
               checked with no access to the server.

Personal values and event bodies may be missing only where a signed
system.subject_erased or system.retention_purge event announced it first.`,
		Example: `  hashtrail verify --data ./hashtrail-data
  hashtrail verify --url https://audit.example.com --api-key $KEY --tenant acme --log-key "$(cat log.key)"
  hashtrail verify --url https://audit.example.com --api-key $KEY --tenant acme --log-key "$(cat log.key)" --sample 500
  hashtrail verify --bundle acme-2026-q1.json --log-key "$(cat log.key)"`,
		Args: cobra.NoArgs,
	}
	f := cmd.Flags()
	vf.config = bindConfig(f, "data", "store", "signing-key")
	f.Lookup("data").Usage = "verify offline on this data directory (env HASHTRAIL_DATA)"
	f.Lookup("store").Usage = "verify offline on this store: sqlite:///path/to/file.db (env HASHTRAIL_STORE; default <data>/" + dbFile + ")"
	f.Lookup("signing-key").Usage = "with --data and no --log-key: take the log key from this signing key file (default <data>/" + signingKeyFile + "; env HASHTRAIL_SIGNING_KEY_FILE, or $HASHTRAIL_SIGNING_KEY holding the key)"
	f.StringVar(&vf.url, "url", "", "verify a running server at this base URL (env "+envURL+")")
	f.StringVar(&vf.apiKey, "api-key", "", "read API key for --url (env "+envAPIKey+")")
	f.StringVar(&vf.bundle, "bundle", "", "verify this evidence bundle file")
	f.StringSliceVar(&vf.tenants, "tenant", nil, "the tenant to verify (required with --url; default with --data: every tenant)")
	f.StringArrayVar(&vf.logKeys, "log-key", nil, "pinned log verifier key, as GET /v1/log/key shows it (repeatable: every key ever used, see /v1/log/keys)")
	f.StringVar(&vf.state, "state", "", "file remembering the checkpoints seen (default with --url: hashtrail/verify-state.json in the user's config directory)")
	f.BoolVar(&vf.noState, "no-state", false, "with --url: neither read nor update the state file")
	f.IntVar(&vf.sample, "sample", 0, "with --url: check this many random events with inclusion proofs instead of every event")
	f.BoolVar(&vf.personalData, "expect-personal-data", false, "with --url: the API key may see personal data, so values missing without an erasure are tampering")
	f.StringSliceVar(&vf.personalFields, "personal-fields", nil, "the tenant's personal change fields, if not the default email,name,phone,address,ip")
	f.StringArrayVar(&vf.witnesses, "witness", nil, "with --url: require a cosignature by this witness verifier key (C2SP tlog-cosignature) on the installation checkpoint that proves the tenant's checkpoint (repeatable)")
	f.IntVar(&vf.witnessQuorum, "witness-quorum", 0, "with --witness: how many of the witnesses must have cosigned (default: all)")
	f.IntVar(&vf.workers, "workers", 0, "leaves rebuilt in parallel (default: the number of CPUs)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return runVerify(cmd, &vf)
	}
	return cmd
}

// verifyGCPercent is the garbage collector's target while verifying: the
// verifier's live heap is small (a few batches of events) and it allocates
// much, so collecting less often buys about 30% (BenchmarkVerifyData).
const verifyGCPercent = 400

// tuneGC sets verifyGCPercent unless GOGC says otherwise.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(verifyGCPercent)
	}
}

// runVerify picks the mode and prints the verdict.
func runVerify(cmd *cobra.Command, vf *verifyFlags) error {
	tuneGC()
	flags := cmd.Flags()
	offline := flags.Changed("data") || flags.Changed("store") || flags.Changed("config")
	url := vf.url
	if !flags.Changed("url") && !offline && vf.bundle == "" {
		url = os.Getenv(envURL)
	}
	modes := 0
	for _, on := range []bool{offline, url != "", vf.bundle != ""} {
		if on {
			modes++
		}
	}
	switch {
	case modes > 1:
		return readable(invalidFlag("--data/--url/--bundle", "pass exactly one of --data (or --store, --config), --url and --bundle"))
	case modes == 0:
		offline = true // the data directory of the serve configuration
	}
	if vf.sample < 0 {
		return readable(invalidFlag("--sample", "must be 0 (every event) or more"))
	}
	v := &client.Verifier{Workers: vf.workers}
	if flags.Changed("personal-fields") {
		v.PersonalFields = vf.personalFields
		if v.PersonalFields == nil {
			v.PersonalFields = []string{}
		}
	}
	if len(vf.logKeys) > 0 {
		name, keys, err := client.ParseLogKeys(vf.logKeys)
		if err != nil {
			return readable(invalidFlag("--log-key", err.Error()))
		}
		v.ServerName, v.Keys = name, keys
	}
	if len(vf.witnesses) > 0 {
		if url == "" {
			return readable(invalidFlag("--witness", "works with --url only: the installation checkpoint and its cosignatures come from the server"))
		}
		ws, err := client.ParseWitnessKeys(vf.witnesses)
		if err != nil {
			return readable(invalidFlag("--witness", err.Error()))
		}
		if vf.witnessQuorum < 0 || vf.witnessQuorum > len(ws) {
			return readable(invalidFlag("--witness-quorum", fmt.Sprintf("must be from 1 to the number of --witness keys (%d)", len(ws))))
		}
		v.Witnesses, v.WitnessQuorum = ws, vf.witnessQuorum
	}
	statePath := vf.state
	if url != "" && statePath == "" && !vf.noState {
		p, err := client.DefaultStatePath()
		if err != nil {
			return err
		}
		statePath = p
	}
	if statePath != "" && !vf.noState {
		st, err := client.LoadState(statePath)
		if err != nil {
			return err
		}
		v.State = st
	}
	out := cmd.OutOrStdout()
	var reports []*client.Report
	var err error
	switch {
	case vf.bundle != "":
		reports, err = verifyBundle(cmd.Context(), v, vf)
	case url != "":
		reports, err = verifyRemote(cmd.Context(), v, vf, url, out)
	default:
		reports, err = verifyData(cmd.Context(), cmd, v, vf, out)
	}
	if err != nil {
		fmt.Fprintf(out, "FAILED: could not verify: %v\n", err)
		return readable(err)
	}
	return verdict(out, v, reports)
}

// verdict prints one line per log and the final OK or FAILED line, and
// saves the state when everything verified.
func verdict(out io.Writer, v *client.Verifier, reports []*client.Report) error {
	var first *client.Report
	var events, redacted, purged, checkpoints int64
	for _, r := range reports {
		status := "ok"
		if !r.OK() {
			status = "FAILED"
			if first == nil {
				first = r
			}
		}
		fmt.Fprintf(out, "%-6s  %s\n", status, r.Summary())
		events += r.Entries
		redacted += r.Redacted
		purged += r.Purged
		checkpoints += int64(r.Checkpoints)
	}
	if first != nil {
		fmt.Fprintf(out, "FAILED: %s\n", first.Failure)
		return errVerifyFailed
	}
	if len(reports) == 0 {
		fmt.Fprintln(out, "FAILED: no tenant log to verify")
		return errVerifyFailed
	}
	if v.State != nil {
		if err := v.State.Save(); err != nil {
			fmt.Fprintf(out, "FAILED: %v\n", err)
			return err
		}
	}
	logs := "1 tenant log"
	if len(reports) != 1 {
		logs = fmt.Sprintf("%d tenant logs", len(reports))
	}
	fmt.Fprintf(out, "OK: %s, %d events verified against %d signed checkpoints; %d redacted, %d purged\n",
		logs, events, checkpoints, redacted, purged)
	return nil
}

// verifyBundle checks an evidence bundle.
func verifyBundle(ctx context.Context, v *client.Verifier, vf *verifyFlags) ([]*client.Report, error) {
	f, err := os.Open(vf.bundle)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := client.ReadBundle(f)
	if err != nil {
		return nil, err
	}
	if len(v.Keys) == 0 {
		return nil, fmt.Errorf("pass --log-key with the installation's log key, obtained from a source you trust (the bundle lists %s, which proves nothing by itself)", strings.Join(b.LogKeys, ", "))
	}
	if v.PersonalFields == nil && b.PersonalFields != nil {
		v.PersonalFields = b.PersonalFields
	}
	rep, err := v.Verify(ctx, client.BundleSource{B: b})
	if err != nil {
		return nil, err
	}
	return []*client.Report{rep}, nil
}

// verifyRemote checks one tenant's log on a running server.
func verifyRemote(ctx context.Context, v *client.Verifier, vf *verifyFlags, base string, out io.Writer) ([]*client.Report, error) {
	if len(v.Keys) == 0 {
		return nil, readable(invalidFlag("--log-key", "is required with --url: pin the installation's log key (GET /v1/log/key, obtained once from a source you trust); it is never fetched from the server being checked"))
	}
	if len(vf.tenants) != 1 {
		return nil, readable(invalidFlag("--tenant", "name exactly one tenant with --url"))
	}
	key := vf.apiKey
	if key == "" {
		key = os.Getenv(envAPIKey)
	}
	get, err := httpGetter(base, key)
	if err != nil {
		return nil, err
	}
	src := &client.APISource{Get: get, TenantID: vf.tenants[0], Sample: vf.sample, PersonalData: vf.personalData}
	rep, err := v.Verify(ctx, src)
	if err != nil {
		return nil, err
	}
	if len(v.Witnesses) > 0 && rep.OK() {
		fmt.Fprintf(out, "witnessed: checkpoint %d of %s is in an installation checkpoint cosigned by %s\n",
			rep.WitnessedSize, rep.Tenant, strings.Join(rep.Witnesses, ", "))
	}
	return []*client.Report{rep}, nil
}

// httpGetter returns a client.Getter for the server at base: GET with the
// bearer key, retrying 429 and 5xx answers a few times after Retry-After.
func httpGetter(base, apiKey string) (client.Getter, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q must be an http or https URL such as http://127.0.0.1:8080", base)
	}
	if apiKey == "" {
		return nil, fmt.Errorf("--url needs an API key: pass --api-key or set %s", envAPIKey)
	}
	base = strings.TrimRight(base, "/")
	hc := &http.Client{Timeout: 60 * time.Second}
	return func(ctx context.Context, path string) ([]byte, error) {
		for attempt := 0; ; attempt++ {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+apiKey)
			resp, err := hc.Do(req)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, hashtrail.Errorf(hashtrail.EUNAVAILABLE, "cannot reach %s: %v", base, rootCause(err))
			}
			data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("reading the answer to GET %s: %w", path, err)
			}
			if resp.StatusCode == http.StatusOK {
				return data, nil
			}
			if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) && attempt < maxRetries {
				if err := sleep(ctx, retryAfter(resp.Header.Get("Retry-After"), attempt)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("GET %s: %w", path, problemError(resp, data))
		}
	}, nil
}

// verifyData checks the logs of a data directory, offline.
func verifyData(ctx context.Context, cmd *cobra.Command, v *client.Verifier, vf *verifyFlags, out io.Writer) ([]*client.Report, error) {
	cfg, err := vf.config.load(os.Getenv)
	if err != nil {
		return nil, err
	}
	target, err := cfg.storeTarget()
	if err != nil {
		return nil, err
	}
	st, err := openStoreOffline(ctx, target, cmd.ErrOrStderr())
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var ls hashtrail.LogStore = st
	serverName, err := st.Setting(ctx, ledger.SettingServerName)
	if err != nil && hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return nil, err
	}
	if len(v.Keys) == 0 {
		key, err := checkpoint.LoadKey(os.Getenv, cfg.signingKeyPath())
		if err != nil {
			return nil, fmt.Errorf("no log key: pass --log-key, or let verify read the signing key: %w", err)
		}
		v.Keys = []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
		v.ServerName = serverName
		if listed, err := ledger.LogKeyList(ctx, st); err == nil && len(listed) > 1 {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: the installation lists %d log keys; checkpoints signed only by an older one verify with --log-key for each key you trust (the list in the database proves nothing by itself)\n", len(listed))
		}
	} else if serverName != "" && serverName != v.ServerName {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: the data directory names the server %q, the pinned log key %q\n", serverName, v.ServerName)
	}
	if v.ServerName == "" {
		return nil, errors.New("the data directory has no server name: was it ever served?")
	}
	tenants := vf.tenants
	if len(tenants) == 0 {
		all, err := st.Tenants(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range all {
			tenants = append(tenants, t.ID)
		}
	}
	var reports []*client.Report
	for _, t := range tenants {
		if _, err := st.Tenant(ctx, t); err != nil {
			return nil, err
		}
		rep, err := v.Verify(ctx, &storeSource{st: st, ls: ls, tenant: t})
		if err != nil {
			return nil, err
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

// offlineStore is what verify and export read of a data directory.
type offlineStore interface {
	hashtrail.EventStore
	hashtrail.TenantStore
}

// storeSource is one tenant's log in a data directory as a verifier reads
// it: a complete source with stored tree hashes, whose events carry every
// personal value that was not erased.
type storeSource struct {
	st     offlineStore
	ls     hashtrail.LogStore
	tenant string
}

var (
	_ client.HashSource         = (*storeSource)(nil)
	_ client.PersonalDataSource = (*storeSource)(nil)
)

func (s *storeSource) Tenant() string          { return s.tenant }
func (s *storeSource) Complete() bool          { return true }
func (s *storeSource) ShowsPersonalData() bool { return true }

// Checkpoints returns every stored checkpoint of the tenant.
func (s *storeSource) Checkpoints(ctx context.Context) ([][]byte, error) {
	cps, err := s.ls.Checkpoints(ctx, s.tenant)
	if err != nil {
		return nil, err
	}
	notes := make([][]byte, len(cps))
	for i, c := range cps {
		notes[i] = c.Note
	}
	return notes, nil
}

// ReadHashes reads stored tree hashes.
func (s *storeSource) ReadHashes(ctx context.Context, indexes []int64) ([]merkle.Hash, error) {
	return s.ls.ReadHashes(ctx, s.tenant, indexes)
}

// Entries passes every seq below the log's size (or end, if larger), with
// no event where the store has none.
func (s *storeSource) Entries(ctx context.Context, end int64, fn func(*client.Entry) error) error {
	t, err := s.st.Tenant(ctx, s.tenant)
	if err != nil {
		return err
	}
	limit := max(t.Size, end)
	next := int64(0)
	for next < limit {
		after := next - 1
		q := &hashtrail.Query{Tenant: s.tenant, Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit, AfterSeq: &after}
		page, err := s.st.Events(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page {
			if e.Seq < next {
				return fmt.Errorf("the store listed seq %d after %d", e.Seq, next-1)
			}
			for ; next < e.Seq; next++ {
				if err := fn(&client.Entry{Seq: next}); err != nil {
					return err
				}
			}
			if err := fn(&client.Entry{Seq: e.Seq, Event: e}); err != nil {
				return err
			}
			next = e.Seq + 1
		}
		if len(page) < hashtrail.MaxLimit {
			break
		}
	}
	for ; next < limit; next++ {
		if err := fn(&client.Entry{Seq: next}); err != nil {
			return err
		}
	}
	return nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/spf13/cobra"
)

// service is the part of hashtrail.LogService the terminal commands use. The
// ledger implements it directly (offline, on the data directory, as the
// local operator) and httpService implements it over the HTTP API, so each
// command is written once for both ways of reaching Hashtrail.
//
// Events takes no cursor: a listing continues by setting Query.AfterSeq
// (order asc) or Query.BeforeSeq (order desc) from the previous page's
// next_cursor, see nextPage.
type service interface {
	Events(ctx context.Context, q *hashtrail.Query) (*hashtrail.EventList, error)

	CreateTenant(ctx context.Context, t *hashtrail.Tenant) (*hashtrail.Tenant, error)
	Tenant(ctx context.Context, id string) (*hashtrail.Tenant, error)
	Tenants(ctx context.Context) ([]*hashtrail.Tenant, error)
	UpdateTenant(ctx context.Context, t *hashtrail.Tenant) (*hashtrail.Tenant, error)
	DeleteTenant(ctx context.Context, id string) error
	SuspendTenant(ctx context.Context, id string, suspended bool, reason string) (*hashtrail.Tenant, error)
	SetTenantQuota(ctx context.Context, id string, eventsPerDay int64) (*hashtrail.Tenant, error)
	SetTenantStorageQuota(ctx context.Context, id string, bytes int64) (*hashtrail.Tenant, error)
	DeleteTenantLog(ctx context.Context, id string, size int64) (*hashtrail.TenantDeletion, error)

	CreateKey(ctx context.Context, req *hashtrail.KeyRequest) (*hashtrail.NewKey, error)
	// Keys lists a tenant's keys, AllTenants for the installation-wide ones,
	// or "" for every key the caller may see.
	Keys(ctx context.Context, tenant string) ([]*hashtrail.APIKey, error)
	RevokeKey(ctx context.Context, tenant, id string) error
	RotateKey(ctx context.Context, tenant, id string, grace time.Duration) (*hashtrail.NewKey, error)

	CreateViewerToken(ctx context.Context, req *hashtrail.ViewerTokenRequest) (*hashtrail.ViewerToken, error)
	RevokeViewerToken(ctx context.Context, tenant, id string) error
}

var (
	_ service = (*ledger.Ledger)(nil)
	_ service = (*httpService)(nil)
)

// Environment variables the API flags default to.
const (
	envURL    = "HASHTRAIL_URL"
	envAPIKey = "HASHTRAIL_API_KEY"
)

// defaultDataDir is where Hashtrail keeps its data unless told otherwise.
const defaultDataDir = "./hashtrail-data"

// dbFile is the SQLite file's name inside the data directory.
const dbFile = "hashtrail.db"

// remoteFlags say how a command reaches Hashtrail: offline on the data
// directory (or store) of the serve configuration, or through the HTTP API
// of a running server.
type remoteFlags struct {
	config *configFlags // --config, --data, --store, as serve reads them
	url    string
	apiKey string
}

// addRemoteFlags registers --config, --data, --store, --url and --api-key on cmd.
func addRemoteFlags(cmd *cobra.Command) *remoteFlags {
	f := cmd.Flags()
	rf := &remoteFlags{config: bindConfig(f, "data", "store")}
	f.Lookup("data").Usage = "work offline on this data directory (env HASHTRAIL_DATA)"
	f.Lookup("store").Usage = "work offline on this store: sqlite:///path/to/file.db (env HASHTRAIL_STORE; default <data>/" + dbFile + ")"
	f.StringVar(&rf.url, "url", "", "reach a running server at this base URL, e.g. http://127.0.0.1:8080 (env "+envURL+")")
	f.StringVar(&rf.apiKey, "api-key", "", "API key for --url (env "+envAPIKey+")")
	return rf
}

// target is where a command reaches Hashtrail: a server (url and key set)
// or the store, worked on offline.
type target struct {
	url, key string
	store    storeTarget
}

// resolve decides the target the way the flags and environment say: an
// explicit --data, --store or --config works offline; otherwise --url or
// HASHTRAIL_URL selects the API; otherwise the store of the serve
// configuration (HASHTRAIL_DATA, HASHTRAIL_STORE, the YAML file, the
// default ./hashtrail-data).
func (rf *remoteFlags) resolve(cmd *cobra.Command) (target, error) {
	flags := cmd.Flags()
	offline := flags.Changed("data") || flags.Changed("store") || flags.Changed("config")
	urlSet := flags.Changed("url")
	if offline && urlSet {
		return target{}, errors.New("pass either --data, --store or --config (offline) or --url (through the API), not both")
	}
	url := rf.url
	if !urlSet {
		url = os.Getenv(envURL)
	}
	if !offline && url != "" {
		key := rf.apiKey
		if !flags.Changed("api-key") {
			key = os.Getenv(envAPIKey)
		}
		return target{url: url, key: key}, nil
	}
	cfg, err := rf.config.load(os.Getenv)
	if err != nil {
		return target{}, err
	}
	st, err := cfg.storeTarget()
	if err != nil {
		return target{}, err
	}
	return target{store: st}, nil
}

// open connects to Hashtrail where resolve says. The returned function
// releases everything open returned; call it once, when done.
func (rf *remoteFlags) open(cmd *cobra.Command) (service, func(), error) {
	t, err := rf.resolve(cmd)
	if err != nil {
		return nil, nil, err
	}
	if t.url != "" {
		c, err := newHTTPService(t.url, t.key)
		if err != nil {
			return nil, nil, err
		}
		return c, func() {}, nil
	}
	return openOffline(cmd.Context(), t.store, cmd.ErrOrStderr())
}

// openOffline opens the store and a ledger over it, acting as the local
// operator (no principal in the context), who may do everything. It
// refuses a missing SQLite database rather than start a new installation
// by accident: `hashtrail serve` creates and bootstraps one.
func openOffline(ctx context.Context, t storeTarget, stderr io.Writer) (service, func(), error) {
	logger := quietLogger(stderr)
	st, err := openStore(ctx, t, logger, false)
	if err != nil {
		return nil, nil, err
	}
	l := ledger.New(st, ledger.Config{Logger: logger, Sinks: offlineSinkTypes()})
	closeAll := func() {
		// Close commits whatever is queued; give it time even if ctx was
		// cancelled by Ctrl-C.
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Close(cctx); err != nil {
			logger.Warn("closing the ledger", "err", err)
		}
		if err := st.Close(); err != nil {
			logger.Warn("closing the store", "err", err)
		}
	}
	return l, closeAll, nil
}

// withService runs fn with the service the flags select and closes it after.
func (rf *remoteFlags) withService(cmd *cobra.Command, fn func(svc service) error) error {
	svc, done, err := rf.open(cmd)
	if err != nil {
		return err
	}
	defer done()
	return readable(fn(svc))
}

// cliError is an expected failure shown as its message and, one per line,
// the fields that were wrong. It unwraps to the *hashtrail.Error.
type cliError struct {
	err    *hashtrail.Error
	status string // the HTTP status, when the answer came over the API
}

func (e *cliError) Error() string {
	var b strings.Builder
	b.WriteString(e.err.Message)
	if e.status != "" {
		fmt.Fprintf(&b, " (%s)", e.status)
	}
	for _, f := range e.err.Fields {
		b.WriteString("\n  ")
		if f.Field != "" {
			b.WriteString(f.Field + ": ")
		}
		b.WriteString(f.Message)
	}
	return b.String()
}

func (e *cliError) Unwrap() error { return e.err }

// readable turns a *hashtrail.Error into a cliError, so the terminal shows
// "message (code)" and the wrong fields rather than Go's error chain.
func readable(err error) error {
	var ce *cliError
	if err == nil || errors.As(err, &ce) {
		return err
	}
	var he *hashtrail.Error
	if errors.As(err, &he) {
		return &cliError{err: he}
	}
	return err
}

// httpService reaches a Hashtrail server over its JSON API (DESIGN §3). It
// turns problem+json answers into *hashtrail.Error values, so commands handle
// failures the same way offline and online.
type httpService struct {
	base   string // without a trailing slash
	apiKey string
	client *http.Client
	now    func() time.Time
}

// newHTTPService returns a client for the server at base, authenticating
// with apiKey (which it never shows).
func newHTTPService(base, apiKey string) (*httpService, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q must be an http or https URL such as http://127.0.0.1:8080", base)
	}
	if apiKey == "" {
		return nil, fmt.Errorf("--url needs an API key: pass --api-key or set %s", envAPIKey)
	}
	return &httpService{
		base:   strings.TrimRight(base, "/"),
		apiKey: apiKey,
		client: &http.Client{Timeout: 60 * time.Second},
		now:    time.Now,
	}, nil
}

// Events lists one page: GET /v1/tenants/{t}/events.
func (c *httpService) Events(ctx context.Context, q *hashtrail.Query) (*hashtrail.EventList, error) {
	v, err := filterValues(q)
	if err != nil {
		return nil, err
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	setIf(v, "order", string(q.Order))
	// The API continues a descending walk with a cursor and an ascending one
	// with after_seq (or a cursor); both come from the same seq.
	if q.BeforeSeq != nil {
		v.Set("cursor", hashtrail.Cursor{Seq: *q.BeforeSeq, Order: hashtrail.OrderDesc}.String())
	}
	if q.AfterSeq != nil {
		v.Set("after_seq", strconv.FormatInt(*q.AfterSeq, 10))
	}
	var list hashtrail.EventList
	if err := c.do(ctx, http.MethodGet, tenantPath(q.Tenant)+"/events?"+v.Encode(), nil, &list); err != nil {
		return nil, err
	}
	return &list, nil
}

func setIf(v url.Values, name, value string) {
	if value != "" {
		v.Set(name, value)
	}
}

// CreateTenant is POST /v1/tenants.
func (c *httpService) CreateTenant(ctx context.Context, t *hashtrail.Tenant) (*hashtrail.Tenant, error) {
	var out hashtrail.Tenant
	err := c.do(ctx, http.MethodPost, "/v1/tenants", api.TenantRequest{ID: t.ID, Name: t.Name}, &out)
	return &out, err
}

// Tenant is GET /v1/tenants/{t}.
func (c *httpService) Tenant(ctx context.Context, id string) (*hashtrail.Tenant, error) {
	var out hashtrail.Tenant
	err := c.do(ctx, http.MethodGet, tenantPath(id), nil, &out)
	return &out, err
}

// Tenants is GET /v1/tenants.
func (c *httpService) Tenants(ctx context.Context) ([]*hashtrail.Tenant, error) {
	var out api.TenantList
	err := c.do(ctx, http.MethodGet, "/v1/tenants", nil, &out)
	return out.Tenants, err
}

// UpdateTenant is PATCH /v1/tenants/{t}.
func (c *httpService) UpdateTenant(ctx context.Context, t *hashtrail.Tenant) (*hashtrail.Tenant, error) {
	var out hashtrail.Tenant
	name := t.Name
	err := c.do(ctx, http.MethodPatch, tenantPath(t.ID), api.TenantPatch{Name: &name}, &out)
	return &out, err
}

// DeleteTenant is DELETE /v1/tenants/{t}.
func (c *httpService) DeleteTenant(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, tenantPath(id), nil, nil)
}

// CreateKey is POST /v1/tenants/{t}/keys, or /v1/keys for an
// installation-wide key. The API takes a lifetime, so the expiry is sent
// as the time left until it, to the second.
func (c *httpService) CreateKey(ctx context.Context, req *hashtrail.KeyRequest) (*hashtrail.NewKey, error) {
	body := api.KeyRequest{Role: req.Role, Name: req.Name, Scope: req.Scope}
	if !req.ExpiresAt.IsZero() {
		body.ExpiresIn = req.ExpiresAt.Sub(c.now()).Round(time.Second).String()
	}
	var out hashtrail.NewKey
	err := c.do(ctx, http.MethodPost, keysPath(req.Tenant), body, &out)
	return &out, err
}

// Keys is GET /v1/tenants/{t}/keys or /v1/keys. For "" (every key) it asks
// for the installation-wide keys, if the API key may see them, and then for
// each visible tenant's keys.
func (c *httpService) Keys(ctx context.Context, tenant string) ([]*hashtrail.APIKey, error) {
	if tenant != "" {
		var out api.KeyList
		err := c.do(ctx, http.MethodGet, keysPath(tenant), nil, &out)
		return out.Keys, err
	}
	all, err := c.Keys(ctx, hashtrail.AllTenants)
	if code := hashtrail.ErrorCode(err); code != "" && code != hashtrail.EFORBIDDEN && code != hashtrail.ENOTFOUND {
		return nil, err
	}
	tenants, err := c.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		keys, err := c.Keys(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		all = append(all, keys...)
	}
	return all, nil
}

// RevokeKey is DELETE /v1/tenants/{t}/keys/{key} or /v1/keys/{key}.
func (c *httpService) RevokeKey(ctx context.Context, tenant, id string) error {
	return c.do(ctx, http.MethodDelete, keysPath(tenant)+"/"+url.PathEscape(id), nil, nil)
}

func tenantPath(t string) string { return "/v1/tenants/" + url.PathEscape(t) }

func keysPath(tenant string) string {
	if tenant == hashtrail.AllTenants {
		return "/v1/keys"
	}
	return tenantPath(tenant) + "/keys"
}

// maxRetries bounds how often a GET is retried on 429 and 5xx answers.
const maxRetries = 3

// do sends one request with a JSON body (unless nil) and decodes a JSON
// answer into out (unless nil). A GET answered 429 or 5xx is retried a few
// times, after Retry-After; nothing else is retried, so a write is never
// applied twice.
func (c *httpService) do(ctx context.Context, method, path string, body, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "cannot reach %s: %v", c.base, rootCause(err))
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading the answer to %s %s: %w", method, path, err)
		}
		if resp.StatusCode < 300 {
			if out == nil || len(bytes.TrimSpace(data)) == 0 {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("the answer to %s %s is not the JSON expected: %w", method, path, err)
			}
			return nil
		}
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if method == http.MethodGet && retryable && attempt < maxRetries {
			if err := sleep(ctx, retryAfter(resp.Header.Get("Retry-After"), attempt)); err != nil {
				return err
			}
			continue
		}
		return problemError(resp, data)
	}
}

// problemError turns an error answer into a cliError: an RFC 9457 problem
// keeps its code, detail and field errors; anything else shows the status
// and the start of the body.
func problemError(resp *http.Response, data []byte) error {
	status := resp.Status
	var p api.Problem
	if json.Unmarshal(data, &p) == nil && (p.Title != "" || p.Detail != "" || p.Code != "") {
		msg := p.Detail
		if msg == "" {
			msg = p.Title
		}
		code := p.Code
		if code == "" {
			code = codeForStatus(resp.StatusCode)
		}
		return &cliError{err: &hashtrail.Error{Code: code, Message: msg, Fields: p.Errors}, status: status}
	}
	text := strings.TrimSpace(string(data))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" {
		text = http.StatusText(resp.StatusCode)
	}
	return &cliError{err: &hashtrail.Error{Code: codeForStatus(resp.StatusCode), Message: "the server answered: " + text}, status: status}
}

// statusCodes maps the statuses of DESIGN §3 to error codes, for answers
// that name none.
var statusCodes = map[int]string{
	http.StatusBadRequest:            hashtrail.EINVALID,
	http.StatusUnauthorized:          hashtrail.EUNAUTHORIZED,
	http.StatusForbidden:             hashtrail.EFORBIDDEN,
	http.StatusNotFound:              hashtrail.ENOTFOUND,
	http.StatusConflict:              hashtrail.ECONFLICT,
	http.StatusRequestEntityTooLarge: hashtrail.ETOOLARGE,
	http.StatusUnsupportedMediaType:  hashtrail.EUNSUPPORTED,
	http.StatusTooManyRequests:       hashtrail.ERATELIMIT,
	http.StatusBadGateway:            hashtrail.EUNAVAILABLE,
	http.StatusServiceUnavailable:    hashtrail.EUNAVAILABLE,
	http.StatusGatewayTimeout:        hashtrail.EUNAVAILABLE,
}

// codeForStatus guesses an error code for an answer that named none.
func codeForStatus(status int) string {
	if code, ok := statusCodes[status]; ok {
		return code
	}
	return hashtrail.EINTERNAL
}

// retryAfter reads a Retry-After header in seconds, or backs off
// exponentially from 500ms; it never waits more than 10s.
func retryAfter(h string, attempt int) time.Duration {
	d := (500 * time.Millisecond) << attempt
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	}
	return min(d, 10*time.Second)
}

// sleep waits d or until ctx ends, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rootCause strips the URL and operation wrappers of a transport error.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

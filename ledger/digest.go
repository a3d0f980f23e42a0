package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Digests: a daily or weekly email per tenant summarising security-relevant
// events (digest_content.go). Settings are the tenant document "digest";
// the periods sent are the document "digest-sent", claimed with
// compare-and-set before sending, so no node ever sends one period twice
// (a node that dies between claiming and sending loses that digest rather
// than sending it twice). Sending runs under the lease "digest/<tenant>".

// digestSent is the stored document of kind "digest-sent".
type digestSent struct {
	// Periods maps a period ("daily:2026-11-22") to when it was claimed.
	Periods map[string]hashtrail.Time `json:"periods"`
}

const maxDigestPeriods = 120 // periods remembered; the oldest are forgotten

func (l *Ledger) loadDigest(ctx context.Context, tenant string) (*hashtrail.DigestSettings, error) {
	c, err := l.store.TenantConfig(ctx, tenant, configDigest)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var d hashtrail.DigestSettings
	if err := json.Unmarshal(c.Value, &d); err != nil {
		return nil, fmt.Errorf("digest of %s: %w", tenant, err)
	}
	d.UpdatedAt, d.UpdatedBy = c.UpdatedAt, c.UpdatedBy
	return &d, nil
}

// Digest returns tenant's digest settings.
func (l *Ledger) Digest(ctx context.Context, tenant string) (*hashtrail.DigestSettings, error) {
	if err := l.alertAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	d, err := l.loadDigest(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if d == nil {
		d = &hashtrail.DigestSettings{Schedule: "off", To: []string{}}
	}
	return d, nil
}

// SetDigest replaces tenant's digest settings (audited as digest.update).
func (l *Ledger) SetDigest(ctx context.Context, tenant string, d *hashtrail.DigestSettings) (*hashtrail.DigestSettings, error) {
	if err := l.alertAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	var errs []hashtrail.FieldError
	switch d.Schedule {
	case "", "off", "daily", "weekly":
	default:
		errs = append(errs, hashtrail.FieldError{Field: "schedule", Message: "must be daily, weekly or off"})
	}
	if d.Hour < 0 || d.Hour > 23 {
		errs = append(errs, hashtrail.FieldError{Field: "hour", Message: "must be an hour of the day, 0 to 23 (UTC)"})
	}
	if (d.Schedule == "daily" || d.Schedule == "weekly") && len(d.To) == 0 {
		errs = append(errs, hashtrail.FieldError{Field: "to", Message: "a digest needs at least one recipient"})
	}
	errs = append(errs, checkEmails("to", d.To)...)
	if len(errs) > 0 {
		return nil, hashtrail.InvalidFields(errs)
	}
	n := hashtrail.DigestSettings{Schedule: d.Schedule, To: slices.Clone(d.To), Hour: d.Hour}
	if n.Schedule == "" {
		n.Schedule = "off"
	}
	if n.To == nil {
		n.To = []string{}
	}
	b, err := json.Marshal(n)
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		var version int64
		if c, err := l.store.TenantConfig(ctx, tenant, configDigest); err == nil {
			version = c.Version
		} else if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			return nil, err
		}
		c := &hashtrail.TenantConfig{Tenant: tenant, Kind: configDigest, Version: version, Value: b, UpdatedAt: l.clock(), UpdatedBy: keyID(hashtrail.PrincipalFrom(ctx))}
		err := l.store.PutTenantConfig(ctx, c)
		if err == nil {
			n.UpdatedAt, n.UpdatedBy = c.UpdatedAt, c.UpdatedBy
			break
		}
		if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT || try == 4 {
			return nil, err
		}
	}
	if err := l.audit(ctx, tenant, "digest.update", hashtrail.Target{Type: "digest", ID: tenant, Name: n.Schedule}); err != nil {
		return nil, err
	}
	return &n, nil
}

// SendDigest sends tenant's digest of the period ending now at once, to
// the configured recipients, without recording a period.
func (l *Ledger) SendDigest(ctx context.Context, tenant string) (*hashtrail.DigestReport, error) {
	if err := l.alertAuthz(ctx, tenant); err != nil {
		return nil, err
	}
	d, err := l.loadDigest(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if d == nil || len(d.To) == 0 {
		return nil, hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "to", Message: "the tenant has no digest recipients; set them first"}})
	}
	until := l.now().UTC()
	from := until.AddDate(0, 0, -1)
	kind := "daily"
	if d.Schedule == "weekly" {
		from, kind = until.AddDate(0, 0, -7), "weekly"
	}
	rep := &hashtrail.DigestReport{Tenant: tenant, Period: kind + ":now", From: hashtrail.NewTime(from), Until: hashtrail.NewTime(until), To: d.To}
	if err := l.sendDigest(ctx, rep); err != nil {
		return nil, err
	}
	return rep, l.audit(ctx, tenant, "digest.send", hashtrail.Target{Type: "digest", ID: tenant, Name: rep.Period})
}

// digestPeriod returns the latest whole period of schedule that is due at
// now (its end plus hour hours has passed): its name and bounds.
func digestPeriod(schedule string, hour int, now time.Time) (name string, from, until time.Time) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch schedule {
	case "daily":
		until = day
		if now.Before(day.Add(time.Duration(hour) * time.Hour)) {
			until = day.AddDate(0, 0, -1)
		}
		from = until.AddDate(0, 0, -1)
		return "daily:" + from.Format(time.DateOnly), from, until
	case "weekly":
		monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
		until = monday
		if now.Before(monday.Add(time.Duration(hour) * time.Hour)) {
			until = monday.AddDate(0, 0, -7)
		}
		from = until.AddDate(0, 0, -7)
		return "weekly:" + from.Format(time.DateOnly), from, until
	}
	return "", time.Time{}, time.Time{}
}

// digestRound sends tenant's due digest unless its period was sent. It
// returns the period's name once nothing is left to do for it (sent, sent
// before, or set up after it ended), so the caller can stop asking.
func (l *Ledger) digestRound(ctx context.Context, tenant string, d *hashtrail.DigestSettings) (done string, err error) {
	name, from, until := digestPeriod(d.Schedule, d.Hour, l.now())
	if name == "" || len(d.To) == 0 || !l.leases.hold(ctx, leaseDigest+tenant) {
		return "", nil
	}
	if d.UpdatedAt.After(until) {
		return name, nil // set up after the period ended: start with the next one
	}
	claimed, already, err := l.claimDigest(ctx, tenant, name)
	if err != nil || !claimed {
		if already {
			return name, nil
		}
		return "", err
	}
	rep := &hashtrail.DigestReport{Tenant: tenant, Period: name, From: hashtrail.NewTime(from), Until: hashtrail.NewTime(until), To: d.To}
	if err := l.sendDigest(ctx, rep); err != nil {
		l.unclaimDigest(ctx, tenant, name)
		return "", err
	}
	l.log.Info("digest sent", "tenant", tenant, "period", name, "events", rep.Events)
	return name, l.audit(ctx, tenant, "digest.send", hashtrail.Target{Type: "digest", ID: tenant, Name: name})
}

// claimDigest records period as sent: claimed reports that this call did,
// already that it was sent before (neither: another node wrote meanwhile;
// try again).
func (l *Ledger) claimDigest(ctx context.Context, tenant, period string) (claimed, already bool, err error) {
	var version int64
	sent := digestSent{Periods: map[string]hashtrail.Time{}}
	c, err := l.store.TenantConfig(ctx, tenant, configDigestSent)
	switch {
	case err == nil:
		version = c.Version
		if err := json.Unmarshal(c.Value, &sent); err != nil {
			return false, false, err
		}
		if sent.Periods == nil {
			sent.Periods = map[string]hashtrail.Time{}
		}
	case hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND:
		return false, false, err
	}
	if _, ok := sent.Periods[period]; ok {
		return false, true, nil
	}
	sent.Periods[period] = l.clock()
	for len(sent.Periods) > maxDigestPeriods {
		keys := slices.Sorted(maps.Keys(sent.Periods))
		delete(sent.Periods, keys[0])
	}
	b, err := json.Marshal(sent)
	if err != nil {
		return false, false, err
	}
	err = l.store.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: tenant, Kind: configDigestSent, Version: version, Value: b, UpdatedAt: l.clock(), UpdatedBy: "digest"})
	if hashtrail.ErrorCode(err) == hashtrail.ECONFLICT {
		return false, false, nil // another node claimed something meanwhile; look again next round
	}
	return err == nil, false, err
}

// sendDigest builds and mails rep's digest, filling in rep.
func (l *Ledger) sendDigest(ctx context.Context, rep *hashtrail.DigestReport) error {
	if l.cfg.Notifier == nil {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "this server sends no email: start it with --smtp-url and --smtp-from")
	}
	sum, err := l.summarise(ctx, rep.Tenant, rep.From, rep.Until)
	if err != nil {
		return err
	}
	m, err := l.digestMail(rep, sum)
	if err != nil {
		return err
	}
	rep.Events, rep.Subject = sum.Total, m.Subject
	if err := l.cfg.Notifier.SendMail(ctx, m); err != nil {
		l.alertMetrics.digestErrors.Inc()
		if hashtrail.ErrorCode(err) != hashtrail.EINTERNAL {
			return err
		}
		l.log.Warn("digest: the mail server failed", "tenant", rep.Tenant, "err", err)
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "the mail server did not take the digest; try again later")
	}
	rep.Sent = true
	l.alertMetrics.digests.Inc()
	return nil
}

// unclaimDigest forgets a claimed period whose digest could not be sent,
// so a later round tries again.
func (l *Ledger) unclaimDigest(ctx context.Context, tenant, period string) {
	c, err := l.store.TenantConfig(ctx, tenant, configDigestSent)
	if err != nil {
		return
	}
	var sent digestSent
	if json.Unmarshal(c.Value, &sent) != nil {
		return
	}
	delete(sent.Periods, period)
	b, _ := json.Marshal(sent)
	c.Value = b
	if err := l.store.PutTenantConfig(ctx, c); err != nil {
		l.log.Warn("digest: could not release a period", "tenant", tenant, "period", period, "err", err)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/merkle"
)

// Resuming an interrupted migrate-store: what the destination holds must
// be a part of the source — the same tenants, each log a prefix of the
// source's (the same root at the destination's size), keys and
// configuration equal — and is skipped; the rest is copied as usual.
// Checkpoints and settings are copied again, which is idempotent.

// checkResumable refuses a destination that belongs to another
// installation or holds tenants the source does not.
func (m *migration) checkResumable(ctx context.Context) error {
	want, err := m.from.Setting(ctx, ledger.SettingServerName)
	if err != nil && hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return err
	}
	if got, err := m.to.Setting(ctx, ledger.SettingServerName); err == nil && got != want {
		return fmt.Errorf("it is the installation %q, the source %q", got, want)
	}
	ts, err := m.to.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		src, err := m.from.Tenant(ctx, t.ID)
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			return fmt.Errorf("it holds the tenant %s, which the source does not", t.ID)
		} else if err != nil {
			return err
		}
		if _, err := m.copiedLog(ctx, src); err != nil {
			return fmt.Errorf("tenant %s: %w", t.ID, err)
		}
	}
	n, err := m.from.InstallationSize(ctx)
	if err != nil {
		return err
	}
	_, err = m.copiedInstallation(ctx, n)
	return err
}

// copiedLog returns how many events of t the destination holds already,
// having checked that they are the source's first ones, or -1 when it does
// not have the tenant.
func (m *migration) copiedLog(ctx context.Context, t *hashtrail.Tenant) (int64, error) {
	if !m.resume {
		return -1, nil
	}
	d, err := m.to.Tenant(ctx, t.ID)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	if d.Name != t.Name || !d.CreatedAt.Equal(t.CreatedAt.Time) {
		return 0, fmt.Errorf("the destination's tenant has another name or creation time")
	}
	if d.Size > t.Size {
		return 0, fmt.Errorf("the destination's log has %d events, the source's %d", d.Size, t.Size)
	}
	if d.Size > 0 {
		if err := sameRoot(d.Size, "log",
			func(idx []int64) ([]merkle.Hash, error) { return m.from.ReadHashes(ctx, t.ID, idx) },
			func(idx []int64) ([]merkle.Hash, error) { return m.to.ReadHashes(ctx, t.ID, idx) }); err != nil {
			return 0, err
		}
	}
	return d.Size, nil
}

// copiedInstallation returns how many installation log entries the
// destination holds already, having checked they are the source's first.
func (m *migration) copiedInstallation(ctx context.Context, n int64) (int64, error) {
	if !m.resume {
		return 0, nil
	}
	d, err := m.to.InstallationSize(ctx)
	if err != nil || d == 0 {
		return 0, err
	}
	if d > n {
		return 0, fmt.Errorf("the destination's installation log has %d entries, the source's %d", d, n)
	}
	err = sameRoot(d, "installation log",
		func(idx []int64) ([]merkle.Hash, error) { return m.from.ReadInstallationHashes(ctx, idx) },
		func(idx []int64) ([]merkle.Hash, error) { return m.to.ReadInstallationHashes(ctx, idx) })
	return d, err
}

// sameRoot checks that two trees have the same root at size.
func sameRoot(size int64, what string, src, dst merkle.HashReaderFunc) error {
	a, err := merkle.TreeHash(size, src)
	if err != nil {
		return err
	}
	b, err := merkle.TreeHash(size, dst)
	if err != nil {
		return fmt.Errorf("the destination's %s: %w", what, err)
	}
	if a != b {
		return fmt.Errorf("the destination's %s of size %d is not the source's (another root)", what, size)
	}
	return nil
}

// copiedKey reports whether the destination has the key already, with the
// same secret hash.
func (m *migration) copiedKey(ctx context.Context, k *hashtrail.APIKey) (bool, error) {
	if !m.resume {
		return false, nil
	}
	d, err := m.to.Key(ctx, k.ID)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !bytes.Equal(d.Hash, k.Hash) || d.Tenant != k.Tenant {
		return false, fmt.Errorf("key %s: the destination holds another key under its id", k.ID)
	}
	return true, nil
}

// copiedConfig returns the version of the configuration document the
// destination holds already (0 for none), checking that it holds the
// source's value; the copy goes on from there.
func (m *migration) copiedConfig(ctx context.Context, c *hashtrail.TenantConfig) (int64, error) {
	if !m.resume {
		return 0, nil
	}
	d, err := m.to.TenantConfig(ctx, c.Tenant, c.Kind)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if d.Version > c.Version || !bytes.Equal(d.Value, c.Value) {
		return 0, fmt.Errorf("%s configuration: the destination holds another document (version %d; the source's is %d)", c.Kind, d.Version, c.Version)
	}
	return d.Version, nil
}

package ledger

import (
	"context"
	"errors"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
	"golang.org/x/mod/sumdb/note"
)

// WitnessConfig is one witness the ledger submits installation checkpoints
// to.
type WitnessConfig struct {
	// Client reaches the witness (C2SP tlog-witness).
	Client hashtrail.Witness
	// Key is the witness's verifier key (cosignature/v1): only its
	// cosignatures are kept.
	Key string
}

// Backoff bounds of a failing witness.
const (
	witnessMinBackoff = time.Second
	witnessMaxBackoff = 5 * time.Minute
)

// witnessState is what the witness loop knows of one witness.
type witnessState struct {
	cfg      WitnessConfig
	verifier *checkpoint.CosignatureVerifier
	known    int64 // the size the witness last cosigned (or told us it knows)
	cosigned int64 // the size of our latest checkpoint it cosigned, or -1
	next     time.Time
	backoff  time.Duration
}

// kickWitnesses wakes the witness loop.
func (l *Ledger) kickWitnesses() {
	if l.witnessKick == nil {
		return
	}
	select {
	case l.witnessKick <- struct{}{}:
	default:
	}
}

// startWitnesses starts the witness loop if witnesses are configured. It
// never blocks ingest or signing: it only reads installation checkpoints and
// keeps cosignatures.
func (l *Ledger) startWitnesses() {
	if l.sig == nil || len(l.cfg.Witnesses) == 0 {
		return
	}
	var ws []*witnessState
	for _, c := range l.cfg.Witnesses {
		v, err := checkpoint.NewCosignatureVerifier(c.Key)
		if err != nil {
			l.log.Error("witness ignored", "witness", c.Key, "err", err)
			continue
		}
		ws = append(ws, &witnessState{cfg: c, verifier: v, cosigned: -1})
	}
	if len(ws) == 0 {
		return
	}
	l.witnessKick = make(chan struct{}, 1)
	l.wg.Add(1)
	go l.witnessLoop(ws)
}

// witnessLoop submits the latest installation checkpoint to every witness
// that has not cosigned it, retrying failures with exponential backoff,
// until the ledger stops.
func (l *Ledger) witnessLoop(ws []*witnessState) {
	defer l.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.stop
		cancel()
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var cp *hashtrail.SignedCheckpoint
		var err error = hashtrail.Errorf(hashtrail.ENOTFOUND, "another node submits to witnesses")
		if l.leases.hold(ctx, hashtrail.LeaseInstallationLog) {
			cp, err = l.store.LatestInstallationCheckpoint(ctx, false)
		}
		if err == nil {
			now := time.Now()
			for _, w := range ws {
				l.metrics.witnessLag.WithLabelValues(w.verifier.Name()).Set(float64(cp.Size - max(w.cosigned, 0)))
				if w.cosigned == cp.Size || now.Before(w.next) {
					continue
				}
				if err := l.submit(ctx, w, cp); err != nil {
					if ctx.Err() != nil {
						return
					}
					l.metrics.witnessErrors.WithLabelValues(w.verifier.Name()).Inc()
					w.backoff = min(max(2*w.backoff, witnessMinBackoff), witnessMaxBackoff)
					w.next = time.Now().Add(w.backoff)
					l.log.Warn("witness did not cosign", "witness", w.verifier.Name(), "size", cp.Size, "retry_in", w.backoff, "err", err)
					continue
				}
				w.backoff, w.next = 0, time.Time{}
				l.metrics.witnessLag.WithLabelValues(w.verifier.Name()).Set(0)
				l.metrics.witnessCosigned.WithLabelValues(w.verifier.Name()).Inc()
			}
		} else if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND && ctx.Err() == nil {
			l.log.Error("reading the installation checkpoint for witnesses", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-l.witnessKick:
		case <-tick.C:
		}
	}
}

// submit sends cp to w, with a consistency proof from the size w knows, and
// keeps its cosignature. A conflict (the witness knows another size) is
// retried once with the size it names.
func (l *Ledger) submit(ctx context.Context, w *witnessState, cp *hashtrail.SignedCheckpoint) error {
	for attempt := 0; ; attempt++ {
		if w.known > cp.Size {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "the witness knows size %d, more than the latest installation checkpoint %d (the store was rolled back?)", w.known, cp.Size)
		}
		var proof []merkle.Hash
		if w.known > 0 && w.known < cp.Size {
			var err error
			if proof, err = merkle.ProveTree(cp.Size, w.known, installationReader(ctx, l.store)); err != nil {
				return err
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		sigs, err := w.cfg.Client.AddCheckpoint(sctx, w.known, proof, cp.Note)
		cancel()
		var conflict *hashtrail.WitnessConflictError
		if errors.As(err, &conflict) && attempt == 0 {
			w.known = conflict.Known
			continue
		}
		if err != nil {
			return err
		}
		line, err := cosignatureLine(cp.Note, sigs, w.verifier)
		if err != nil {
			return err
		}
		if err := l.store.AddCosignature(ctx, cp.Size, line); err != nil {
			return err
		}
		w.known, w.cosigned = cp.Size, cp.Size
		return nil
	}
}

// cosignatureLine returns the line of sigs (a witness's answer: signature
// lines) that is a valid cosignature of the signed note msg by v.
func cosignatureLine(msg, sigs []byte, v *checkpoint.CosignatureVerifier) (string, error) {
	for _, line := range strings.SplitAfter(string(sigs), "\n") {
		if !strings.HasPrefix(line, "— "+v.Name()+" ") || !strings.HasSuffix(line, "\n") {
			continue
		}
		text, _, _ := strings.Cut(string(msg), "\n\n")
		n, err := note.Open([]byte(text+"\n\n"+line), note.VerifierList(v))
		if err == nil && len(n.Sigs) == 1 {
			return line, nil
		}
	}
	return "", hashtrail.Errorf(hashtrail.EINVALID, "the witness answered no valid cosignature by %s", v.Name())
}

package sqlite

import (
	"context"
	"time"
)

// checkpointEvery is the most often the checkpointer runs.
const checkpointEvery = time.Second

// startCheckpointer starts the goroutine that checkpoints the WAL into the
// database file, so that Append's COMMIT does not pay for it: a checkpoint
// copies pages and fsyncs the database, which would otherwise run inside
// the commit that crossed the WAL's autocheckpoint threshold. PASSIVE
// checkpoints never block the writer or readers. Close stops it.
func (s *Store) startCheckpointer() {
	s.kick = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	go s.checkpointLoop()
}

// kickCheckpointer tells the checkpointer that the WAL grew.
func (s *Store) kickCheckpointer() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Store) checkpointLoop() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		}
		var busy, logPages, done int
		err := s.ck.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sqlite: checkpoint", "err", err)
		}
		select {
		case <-s.stop:
			return
		case <-time.After(checkpointEvery):
		}
	}
}

// stopCheckpointer stops the checkpointer and waits for it.
func (s *Store) stopCheckpointer() {
	if s.stop == nil {
		return
	}
	close(s.stop)
	<-s.done
}

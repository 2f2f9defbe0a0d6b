package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/belay-proxy/belay/capture"
)

// captureStats keeps the collector of belay's records (capture.Stats)
// registered while capture.stats_database_url is set, following the URL
// across reloads. The URL may hold a password: only Target is logged.
type captureStats struct {
	reg   *prometheus.Registry
	log   *zap.Logger
	url   string
	stats *capture.Stats
}

// apply registers, replaces or removes the collector for url ("" for none).
func (s *captureStats) apply(url string) error {
	if url == s.url {
		return nil
	}
	var next *capture.Stats
	if url != "" {
		var err error
		if next, err = capture.NewStats(url, s.report); err != nil {
			return err
		}
	}
	if s.stats != nil {
		s.reg.Unregister(s.stats)
		s.stats.Close()
	}
	s.url, s.stats = url, next
	if next == nil {
		s.log.Info("capture stats off")
		return nil
	}
	if err := s.reg.Register(next); err != nil {
		next.Close()
		s.url, s.stats = "", nil
		return fmt.Errorf("capture stats: %w", err)
	}
	s.log.Info("capture stats on /metrics", zap.String("from", next.Target()))
	return nil
}

// report logs the start and the end of each run of failed reads.
func (s *captureStats) report(err error) {
	if err != nil {
		s.log.Warn("capture stats unavailable (belay_capture_stats_up 0)", zap.Error(err))
		return
	}
	s.log.Info("capture stats available again")
}

func (s *captureStats) close() {
	if s.stats != nil {
		s.stats.Close()
	}
}

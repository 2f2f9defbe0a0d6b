package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/belay-proxy/belay/admin"
	"github.com/belay-proxy/belay/audit"
	"github.com/belay-proxy/belay/config"
	"github.com/belay-proxy/belay/proxy"
	"github.com/belay-proxy/belay/rules"
)

type serveCmd struct {
	Config      string `short:"c" required:"" type:"path" placeholder:"FILE" help:"Configuration file (YAML)."`
	Listen      string `help:"Address for PostgreSQL clients (overrides listen; default ${default_listen})." placeholder:"ADDR"`
	Upstream    string `help:"PostgreSQL server to relay to (overrides upstream.address; default ${default_upstream})." placeholder:"HOST:PORT"`
	AdminListen string `name:"admin-listen" help:"Address of the admin HTTP port: /metrics, /healthz, /readyz (overrides admin_listen; default ${default_admin})." placeholder:"ADDR"`
}

// statementCacheBytes bounds the classifier's cache of parsed statements.
const statementCacheBytes = 64 << 20

func (c *serveCmd) overrides() config.Overrides {
	return config.Overrides{Listen: c.Listen, Upstream: c.Upstream, AdminListen: c.AdminListen}
}

func (c *serveCmd) load() (*config.Config, error) {
	cfg, err := config.Load(c.Config)
	if err != nil {
		return nil, err
	}
	return c.overrides().Apply(cfg)
}

func (c *serveCmd) Run(e *env) error {
	cfg, err := c.load()
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	log, err := newLogger(cfg.Log)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer func() { _ = log.Sync() }()
	if stopProfile, err := startCPUProfile(os.Getenv("BELAY_CPUPROFILE")); err != nil {
		return &exitError{code: 1, err: err}
	} else {
		defer stopProfile()
	}

	procs := setMaxProcs(cfg.Limits.MaxProcs)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := proxy.NewMetrics(reg)
	stats := &captureStats{reg: reg, log: log}
	if err := stats.apply(cfg.Capture.StatsDatabaseURL); err != nil {
		return &exitError{code: 1, err: err}
	}
	defer stats.close()
	classifier := rules.NewClassifier(rules.Options{CacheBytes: statementCacheBytes, ObserveParse: metrics.ObserveParse})
	proxy.RegisterCacheStats(reg, classifier.CacheStats)
	guard := &inspectors{classifier: classifier, metrics: metrics, log: log}
	insp, err := guard.build(cfg)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	defer guard.close()
	srv, err := proxy.NewServer(cfg, insp, metrics, log)
	if err != nil {
		return &exitError{code: 1, err: err}
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("listen: %w", err)}
	}
	adminLn, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		ln.Close()
		return &exitError{code: 1, err: fmt.Errorf("admin listen: %w", err)}
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	upstreamAddr := func() string { return srv.UpstreamAddress() }
	go func() {
		if err := admin.Serve(ctx, adminLn, admin.Handler(reg, admin.UpstreamReachable(upstreamAddr)), log); err != nil {
			log.Error("admin", zap.Error(err))
		}
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ctx, ln) }()
	log.Info("belay listening",
		zap.String("listen", ln.Addr().String()),
		zap.String("upstream", cfg.Upstream.Address),
		zap.String("config", cfg.Source),
		zap.Int("max_procs", procs),
		zap.String("version", buildVersion()))

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for {
		select {
		case err := <-serveErr:
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				c.reload(srv, guard, stats, metrics, log, cfg)
				continue
			}
			return c.drain(srv, ln, stop, log)
		}
	}
}

// reload re-reads the file on SIGHUP; an invalid file leaves the running
// configuration in place.
func (c *serveCmd) reload(srv *proxy.Server, guard *inspectors, stats *captureStats, metrics *proxy.Metrics, log *zap.Logger, started *config.Config) {
	cfg, err := c.load()
	if err == nil {
		var insp proxy.Inspector
		if insp, err = guard.build(cfg); err == nil {
			err = srv.Reload(cfg, insp)
		}
	}
	if err != nil {
		metrics.ConfigReloads.WithLabelValues("error").Inc()
		log.Error("config reload failed; keeping the running configuration", zap.String("config", c.Config), zap.Error(err))
		return
	}
	if cfg.Listen != started.Listen || cfg.AdminListen != started.AdminListen {
		log.Warn("listen addresses change only on restart", zap.String("listen", started.Listen), zap.String("admin_listen", started.AdminListen))
	}
	// A reload applies capture.stats_database_url: set, changed or removed.
	if err := stats.apply(cfg.Capture.StatsDatabaseURL); err != nil {
		log.Error("capture stats: keeping the previous setting", zap.Error(err))
	}
	metrics.ConfigReloads.WithLabelValues("ok").Inc()
	log.Info("config reloaded", zap.String("config", c.Config))
}

// drain stops accepting, lets sessions finish up to the drain timeout,
// then closes what is left.
func (c *serveCmd) drain(srv *proxy.Server, ln net.Listener, stop context.CancelFunc, log *zap.Logger) error {
	timeout := srv.Config().Shutdown.DrainTimeout
	log.Info("shutting down: draining sessions", zap.Int64("open", srv.OpenSessions()), zap.Duration("drain_timeout", timeout))
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(ctx)
	stop()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err != nil {
		log.Warn("drain timeout reached", zap.Error(err))
	}
	log.Info("stopped")
	// Give the admin server its moment to close.
	time.Sleep(10 * time.Millisecond)
	return nil
}

// inspectors builds the guard for each configuration and
// keeps the audit output open across reloads that do not change it.
type inspectors struct {
	classifier *rules.Classifier
	metrics    *proxy.Metrics
	log        *zap.Logger
	audit      *audit.Logger
	output     string
	retired    []*audit.Logger
}

func (g *inspectors) build(cfg *config.Config) (proxy.Inspector, error) {
	if g.audit == nil || g.output != cfg.Audit.Output {
		a, err := audit.Open(cfg.Audit.Output)
		if err != nil {
			return nil, err
		}
		if g.audit != nil {
			g.retired = append(g.retired, g.audit) // a session may still be writing to it
		}
		g.audit, g.output = a, cfg.Audit.Output
	}
	var cl *rules.Classifier
	if cfg.Classify {
		cl = g.classifier
	}
	return &proxy.Guard{Classifier: cl, Policy: cfg.Policy(), Audit: g.audit, Literals: cfg.Audit.Literals, Metrics: g.metrics, PerUser: cfg.Metrics.PerUser}, nil
}

func (g *inspectors) close() {
	for _, a := range append(g.retired, g.audit) {
		if a != nil {
			_ = a.Close()
		}
	}
}

package metrics

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rstscope/rstscope/internal/kernel"
	"github.com/rstscope/rstscope/internal/pipeline"
	"github.com/rstscope/rstscope/rstanalysis"
)

// Config tunes Metrics. The zero value is ready to use.
type Config struct {
	// Ports is how many server ports get a label value of their own: the
	// first ones seen; the others are counted as "other". Zero means 20.
	Ports int
}

// Metrics is rstscope's Prometheus metrics for a live run: a
// pipeline.Observer that counts verdicts and keeps the run's counters,
// served by Handler. Its methods are safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	rsts     *prometheus.CounterVec
	events   *prometheus.CounterVec
	findings *prometheus.CounterVec
	delay    prometheus.Histogram
	ports    portLabels
	counts   atomic.Pointer[pipeline.Counters]
}

// The labels of the RST counters, in order.
var rstLabels = []string{"origin", "cause", "phase", "vantage", "port"}

// New returns the metrics, registered in a registry of their own with the
// Go runtime's and the process's.
func New(cfg Config) *Metrics {
	if cfg.Ports <= 0 {
		cfg.Ports = 20
	}
	m := &Metrics{reg: prometheus.NewRegistry(), ports: portLabels{max: cfg.Ports, seen: make(map[uint16]string)}}
	m.counts.Store(&pipeline.Counters{})
	m.rsts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rstscope_rsts_total",
		Help: "TCP RSTs attributed, by who really sent them (origin), likely cause, phase of the exchange, vantage point and server port."},
		rstLabels)
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rstscope_reset_events_total",
		Help: "Reset events (the first RST of each, without the rest of a burst or the answers to late segments), labelled as rstscope_rsts_total."},
		rstLabels)
	m.findings = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rstscope_findings_total",
		Help: "Findings of the RSTs' verdicts, by rule id (ttl.mismatch, kernel.abort_on_close, ...)."}, []string{"rule"})
	m.delay = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rstscope_verdict_delay_seconds",
		Help:    "Wall-clock time from a RST's capture to its verdict: the grace period, and the wait for the packets that follow.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 3, 5, 10, 30}})
	counter := func(name, help string, v func(*pipeline.Counters) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return v(m.counts.Load()) })
	}
	gauge := func(name, help string, v func(*pipeline.Counters) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return v(m.counts.Load()) })
	}
	m.reg.MustRegister(m.rsts, m.events, m.findings, m.delay,
		counter("rstscope_frames_total", "Frames read from the interface, of every kind.",
			func(c *pipeline.Counters) float64 { return float64(c.Frames) }),
		counter("rstscope_tcp_packets_total", "TCP segments analysed.",
			func(c *pipeline.Counters) float64 { return float64(c.TCP) }),
		counter("rstscope_dropped_frames_total", "Frames the kernel or the interface dropped before rstscope read them (pcap_stats).",
			func(c *pipeline.Counters) float64 { return float64(c.Dropped) }),
		counter("rstscope_evicted_connections_total", "Connections evicted from the table because it was full (--max-conns).",
			func(c *pipeline.Counters) float64 { return float64(c.Evicted) }),
		counter("rstscope_expired_connections_total", "Connections forgotten after their idle timeout.",
			func(c *pipeline.Counters) float64 { return float64(c.Expired) }),
		gauge("rstscope_open_connections", "Connections tracked now.",
			func(c *pipeline.Counters) float64 { return float64(c.Open) }),
		gauge("rstscope_pending_verdicts", "RSTs whose verdict waits for its grace period.",
			func(c *pipeline.Counters) float64 { return float64(c.Pending) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Verdict counts v (pipeline.Observer).
func (m *Metrics) Verdict(v *rstanalysis.Verdict) {
	if v.Revision > 0 { // counters count each RST once, by its first verdict
		return
	}
	labels := prometheus.Labels{"origin": v.Origin.String(), "cause": v.Cause.String(), "phase": v.Phase.String(),
		"vantage": Vantage(v.Vantage), "port": m.ports.of(v.Server.Port())}
	m.rsts.With(labels).Inc()
	if v.Event == v.Frame {
		m.events.With(labels).Inc()
	}
	for i := range v.Findings {
		m.findings.WithLabelValues(string(v.Findings[i].Rule)).Inc()
	}
	if d := time.Since(v.Time); d >= 0 {
		m.delay.Observe(d.Seconds())
	}
}

// Counters keeps the run's counters for the next scrape
// (pipeline.Observer).
func (m *Metrics) Counters(c pipeline.Counters) { m.counts.Store(&c) }

// Kernel adds the kernel's reset events, as w counts them, and a gauge
// that says whether kernel reasons are read (w nil: not).
func (m *Metrics) Kernel(w *kernel.Witness) {
	k := &kernelCollector{}
	if w != nil {
		k.w = w
	}
	m.reg.MustRegister(k)
}

// Vantage is the label value of a verdict's vantage text (docs/json.md):
// client_host, server_host, both_ends, path or unknown.
func Vantage(text string) string {
	switch {
	case strings.HasPrefix(text, "client host"):
		return "client_host"
	case strings.HasPrefix(text, "server host"):
		return "server_host"
	case strings.HasPrefix(text, "same host or link"):
		return "both_ends"
	case strings.HasPrefix(text, "on the path"), strings.Contains(text, "hops from"):
		return "path"
	}
	return "unknown"
}

// portLabels gives the first max server ports seen a label value of their
// own, and every later one "other": a series, once created, must keep
// counting (a counter that moved to "other" would fake a rate there), and
// a server's ports are the first it sees.
type portLabels struct {
	mu   sync.Mutex
	max  int
	seen map[uint16]string
}

func (p *portLabels) of(port uint16) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.seen[port]; ok {
		return s
	}
	if len(p.seen) >= p.max {
		return "other"
	}
	s := strconv.Itoa(int(port))
	p.seen[port] = s
	return s
}

// kernelCollector reads a kernel.Witness's counters at each scrape; w is
// nil when kernel reasons are off.
type kernelCollector struct {
	w interface {
		Stats() kernel.Stats
		Err() error
	}
}

var (
	kernelUp = prometheus.NewDesc("rstscope_kernel_reasons_enabled",
		"1 when the kernel's reset tracepoints are read (live --kernel), 0 when not.", nil, nil)
	kernelSent = prometheus.NewDesc("rstscope_kernel_sent_resets_total",
		"RSTs this host's TCP stack sent (tcp:tcp_send_reset from this host's addresses), by the kernel's reason.", []string{"reason"}, nil)
	kernelRecv = prometheus.NewDesc("rstscope_kernel_received_resets_total",
		"RSTs that reset a socket of this host (tcp:tcp_receive_reset).", nil, nil)
	kernelLost = prometheus.NewDesc("rstscope_kernel_lost_events_total",
		"Kernel reset events the trace's ring buffer lost before rstscope read them.", nil, nil)
	kernelJoined = prometheus.NewDesc("rstscope_kernel_joined_rsts_total",
		"RSTs of the capture joined with the tcp_send_reset that sent them.", nil, nil)
	kernelNoEvent = prometheus.NewDesc("rstscope_kernel_unsent_rsts_total",
		"RSTs that left this host without its TCP stack (no tcp_send_reset): its firewall or a raw socket.", nil, nil)
)

func (k *kernelCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{kernelUp, kernelSent, kernelRecv, kernelLost, kernelJoined, kernelNoEvent} {
		ch <- d
	}
}

func (k *kernelCollector) Collect(ch chan<- prometheus.Metric) {
	if k.w == nil {
		ch <- prometheus.MustNewConstMetric(kernelUp, prometheus.GaugeValue, 0)
		return
	}
	up := 1.0
	if k.w.Err() != nil {
		up = 0
	}
	st := k.w.Stats()
	ch <- prometheus.MustNewConstMetric(kernelUp, prometheus.GaugeValue, up)
	for reason, n := range st.Sent {
		ch <- prometheus.MustNewConstMetric(kernelSent, prometheus.CounterValue, float64(n), reason)
	}
	ch <- prometheus.MustNewConstMetric(kernelRecv, prometheus.CounterValue, float64(st.Received))
	ch <- prometheus.MustNewConstMetric(kernelLost, prometheus.CounterValue, float64(st.Lost))
	ch <- prometheus.MustNewConstMetric(kernelJoined, prometheus.CounterValue, float64(st.Joined))
	ch <- prometheus.MustNewConstMetric(kernelNoEvent, prometheus.CounterValue, float64(st.NoEvent))
}

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aiadmin/aiadmin/cmd/internal/shard"
	"github.com/aiadmin/aiadmin/db"
	"github.com/aiadmin/aiadmin/workflows"
)

// Stop tiers: the front (proxy, api) stops first so that no new work comes in, then the
// workers finish theirs, then the fakes, and Temporal last.
const (
	tierFront = iota
	tierWorkers
	tierFakes
	tierLast
)

// graces are how long each tier may take to stop after SIGTERM before it is killed.
var graces = map[int]time.Duration{tierFront: 15 * time.Second, tierWorkers: 45 * time.Second,
	tierFakes: 10 * time.Second, tierLast: 20 * time.Second}

// child is one process of the cluster, in a process group of its own (Ctrl-C reaches only
// the cluster, which stops the children in order), its output in <dir>/<name>.log.
type child struct {
	name       string
	tier       int
	argv, env  []string // the command and what it adds to the environment, to start it again
	cmd        *exec.Cmd
	log        string
	done       chan struct{}
	err        error       // how it ended, once done is closed
	deliberate atomic.Bool // stopped or killed on purpose (a test's fault injection): not a failure
}

func (ch *child) exited() bool {
	select {
	case <-ch.done:
		return true
	default:
		return false
	}
}

// spawn starts argv with the environment plus env, its output in a new log.
func (c *cluster) spawn(name string, tier int, argv, env []string) (*child, error) {
	return c.startChild(&child{name: name, tier: tier, argv: argv, env: env}, os.O_TRUNC)
}

// startChild starts ch's command; logMode os.O_TRUNC starts its log afresh, os.O_APPEND adds
// to it (a child started again keeps the log of its earlier life). The cluster's list of
// children gets ch in place of an earlier child of the same name.
func (c *cluster) startChild(ch *child, logMode int) (*child, error) {
	ch.log = filepath.Join(c.opts.Dir, ch.name+".log")
	logFile, err := os.OpenFile(ch.log, os.O_WRONLY|os.O_CREATE|logMode, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(ch.argv[0], ch.argv[1:]...)
	cmd.Env = append(os.Environ(), ch.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: should the cluster itself be killed, its children get SIGTERM.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", ch.name, err)
	}
	ch.cmd, ch.done = cmd, make(chan struct{})
	c.mu.Lock()
	c.procs = slices.DeleteFunc(c.procs, func(p *child) bool { return p.name == ch.name })
	c.procs = append(c.procs, ch)
	c.Addrs.PIDs[ch.name] = cmd.Process.Pid
	c.mu.Unlock()
	go func() {
		ch.err = cmd.Wait()
		logFile.Close()
		close(ch.done)
		if !c.stopping.Load() && !ch.deliberate.Load() {
			select {
			case c.exited <- ch: // the first unexpected exit is what `cluster` reports
			default:
			}
		}
	}()
	return ch, nil
}

// stop sends SIGTERM to the child's process group and waits; after the tier's grace it kills
// the group.
func (ch *child) stop(grace time.Duration) {
	if ch.exited() {
		return
	}
	pgid := ch.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-ch.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-ch.done
	}
}

// Stop stops every child, tier by tier, and returns when all have exited. It is safe to
// call more than once.
func (c *cluster) Stop() {
	c.stopOnce.Do(func() {
		c.stopping.Store(true)
		c.mu.Lock()
		procs := append([]*child(nil), c.procs...)
		c.mu.Unlock()
		for tier := tierFront; tier <= tierLast; tier++ {
			var wg sync.WaitGroup
			for _, p := range procs {
				if p.tier == tier {
					wg.Add(1)
					go func() { defer wg.Done(); p.stop(graces[tier]) }()
				}
			}
			wg.Wait()
		}
		c.logger.Info("cluster stopped")
	})
}

// waitFor polls cond until it holds; it fails when a child exits or ctx ends.
func (c *cluster) waitFor(ctx context.Context, what string, cond func(context.Context) bool) error {
	for !cond(ctx) {
		c.mu.Lock()
		procs := append([]*child(nil), c.procs...)
		c.mu.Unlock()
		for _, p := range procs {
			if p.exited() {
				return fmt.Errorf("cluster: %s exited (%v) while waiting for %s; its log: %s", p.name, p.err, what, p.log)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: %s not ready in time (logs in %s): %w", what, c.opts.Dir, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// waitReady waits for the fakes, each api process, the proxy in front of them, and for the
// workers to have shared out every WhatsApp shard.
func (c *cluster) waitReady(ctx context.Context) error {
	type check struct{ what, url string }
	checks := []check{
		{"the fake YClients", c.Addrs.FakeYClients + "/_fake/salons"},
		{"the fake WhatsApp server", c.Addrs.FakeWhatsApp + "/control/connections"},
	}
	for i, a := range c.Addrs.APIs {
		checks = append(checks, check{fmt.Sprintf("api-%d", i+1), a + "/readyz"})
	}
	checks = append(checks, check{"the proxy", c.Addrs.PublicURL + "/readyz"})
	client := &http.Client{Timeout: 2 * time.Second}
	for _, ck := range checks {
		if err := c.waitFor(ctx, ck.what, func(ctx context.Context) bool { return httpOK(ctx, client, ck.url) }); err != nil {
			return err
		}
	}
	return c.waitShards(ctx)
}

func httpOK(ctx context.Context, client *http.Client, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

var shardOwnerPID = regexp.MustCompile(`pid (\d+)$`)

// waitShards waits until every WhatsApp shard is owned by one of the cluster's workers and
// none owns more than its fair share, so that no shard is handed over under load.
func (c *cluster) waitShards(ctx context.Context) error {
	store, err := db.Open(ctx, c.opts.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	workers := map[int]bool{}
	for name, pid := range c.Addrs.PIDs {
		if strings.HasPrefix(name, "worker-") {
			workers[pid] = true
		}
	}
	share := (c.opts.Shards + len(workers) - 1) / len(workers)
	scope := clusterNamespace + "/" + workflows.TaskQueue
	return c.waitFor(ctx, "the workers to share the WhatsApp shards", func(ctx context.Context) bool {
		owners, err := shard.Owners(ctx, store.Pool, scope, c.opts.Shards)
		if err != nil || len(owners) != c.opts.Shards {
			return false
		}
		per := map[int]int{}
		for _, app := range owners {
			m := shardOwnerPID.FindStringSubmatch(app)
			if len(m) != 2 {
				return false
			}
			pid, _ := strconv.Atoi(m[1])
			per[pid]++
			if !workers[pid] || per[pid] > share {
				return false
			}
		}
		return true
	})
}

// dropDatabases drops the named databases on anyURL's server, closing their connections.
func dropDatabases(ctx context.Context, anyURL string, names ...string) error {
	cfg, err := pgx.ParseConfig(anyURL)
	if err != nil {
		return err
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("drop databases: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, name := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
	}
	return nil
}

// handedOut holds the ports resolveAddr has given out in this process: a port is chosen
// before the process given it listens, so the next choice could otherwise be the same one.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// resolveAddr gives an address with port 0 a free port below the kernel's ephemeral range,
// one it has not given out before. A port the kernel hands out for port 0 may be handed out
// again (to the Temporal server's internal services, to an outgoing connection) before the
// child given it listens, and a port in that range freed by a stopped server may become an
// outgoing connection's before the server is back.
func resolveAddr(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	lo, hi := 20000, ephemeralLow()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 200 {
		if hi <= lo {
			break
		}
		p := lo + rand.IntN(hi-lo)
		if handedOut.ports[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			defer l.Close()
			handedOut.ports[p] = true
			return l.Addr().String(), nil
		}
	}
	return "", fmt.Errorf("address %q: no free port in %d-%d", addr, lo, hi)
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux default 32768).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}

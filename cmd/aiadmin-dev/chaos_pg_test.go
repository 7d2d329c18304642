package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ownPostgres is a PostgreSQL server of the suite's own (initdb in a temporary folder, trust
// authentication, a free port, its socket in that folder), run as the postgres OS user (or,
// when the suite does not run as root, as its user) so that the suite can stop and restart it. The machine's shared server on 5432 is never
// touched: other developers' tests use it.
type ownPostgres struct {
	bin     string // /usr/lib/postgresql/<version>/bin
	dir     string // the data folder (its parent holds the socket and the log)
	port    int
	uid     uint32
	gid     uint32
	cmd     *exec.Cmd
	done    chan struct{}
	logFile string
}

// errNoPostgres: PostgreSQL's binaries or its OS user are missing; the suite skips.
var errNoPostgres = errors.New("own PostgreSQL")

// startOwnPostgres initialises and starts the server; cleanup receives what stops it and
// removes its folder.
func startOwnPostgres(cleanup func(func())) (*ownPostgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoPostgres, err)
	}
	// PostgreSQL refuses to run as root: root runs it as the postgres OS user, anyone else as
	// themselves.
	uid, gid := uint64(os.Geteuid()), uint64(os.Getegid())
	if uid == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: no postgres OS user to run it as: %w", errNoPostgres, err)
		}
		uid, _ = strconv.ParseUint(u.Uid, 10, 32)
		gid, _ = strconv.ParseUint(u.Gid, 10, 32)
	}
	root, err := os.MkdirTemp("", "aiadmin-chaos-pg-")
	if err != nil {
		return nil, err
	}
	p := &ownPostgres{bin: bin, dir: filepath.Join(root, "data"), uid: uint32(uid), gid: uint32(gid),
		logFile: filepath.Join(root, "postgres.log")}
	cleanup(func() {
		p.stop()
		_ = os.RemoveAll(root)
	})
	if err := os.Chown(root, int(p.uid), int(p.gid)); err != nil && os.Geteuid() == 0 {
		return nil, err
	}
	initdb := p.command(filepath.Join(bin, "initdb"), "-D", p.dir, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	addr, err := resolveAddr("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	p.port, _ = strconv.Atoi(port)
	return p, p.start()
}

// postgresBin finds the newest installed PostgreSQL's binaries.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(dirs) == 0 {
		return "", errors.New("no /usr/lib/postgresql/<version>/bin/postgres (make postgres installs it)")
	}
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))))
		return vi > vj
	})
	return filepath.Dir(dirs[0]), nil
}

// command runs a PostgreSQL binary as the postgres user, in a process group of its own and
// killed should this test process die.
func (p *ownPostgres) command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"LC_ALL=C", "PATH=/usr/bin:/bin"}
	cmd.Dir = filepath.Dir(p.dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: p.uid, Gid: p.gid}
	}
	return cmd
}

// URL is the DSN of a database on this server.
func (p *ownPostgres) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, database)
}

// start runs the postmaster and waits until it accepts connections. fsync is off: the data
// only has to outlive a restart of the server, not of the machine.
func (p *ownPostgres) start() error {
	log, err := os.OpenFile(p.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	p.cmd = p.command(filepath.Join(p.bin, "postgres"), "-D", p.dir, "-p", strconv.Itoa(p.port),
		"-k", filepath.Dir(p.dir), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=400",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=64MB")
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		log.Close()
		p.cmd = nil
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	p.done = done
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); log.Close(); close(done) }(p.cmd)
	deadline := time.Now().Add(30 * time.Second)
	for !p.accepting() {
		select {
		case <-done:
			out, _ := os.ReadFile(p.logFile)
			p.cmd = nil
			return fmt.Errorf("postgres exited at start:\n%s", tail(out, 3000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("postgres did not accept connections within 30 s")
		}
	}
	return nil
}

func (p *ownPostgres) accepting() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return false
	}
	_ = conn.Close(ctx)
	return true
}

// stop shuts the server down ("fast": open connections are ended, as a restart does) and
// waits for it.
func (p *ownPostgres) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	p.cmd = nil
}

// restart stops the server and starts it again on the same data and port; it returns how
// long it did not accept connections.
func (p *ownPostgres) restart() (time.Duration, error) {
	began := time.Now()
	p.stop()
	err := p.start()
	return time.Since(began), err
}

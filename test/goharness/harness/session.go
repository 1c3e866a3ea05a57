package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	hclog "github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"mmharness/mmtypes"
)

// ------------------------------------------------------------------ logging

// logBuffer collects the go-plugin client's hclog output (which includes the plugin
// process's stderr lines) plus harness notes, with arrival times.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	echo    bool
	started time.Time // arrival of go-plugin's "plugin started" entry
}

func (l *logBuffer) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.addLocked(line, now)
	}
	return len(p), nil
}

func (l *logBuffer) addLocked(line string, at time.Time) {
	if l.started.IsZero() && strings.Contains(line, `"@message":"plugin started"`) {
		l.started = at
	}
	if len(l.lines) >= 2000 {
		l.lines = l.lines[1000:]
	}
	l.lines = append(l.lines, line)
	if l.echo {
		fmt.Fprintln(os.Stderr, "  | "+line)
	}
}

func (l *logBuffer) note(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked("[harness] "+fmt.Sprintf(format, args...), time.Now())
}

func (l *logBuffer) tail(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) <= n {
		return append([]string(nil), l.lines...)
	}
	return append([]string(nil), l.lines[len(l.lines)-n:]...)
}

func (l *logBuffer) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

func (l *logBuffer) startedAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started
}

// lineWriter feeds a raw byte stream (plugin stderr, synced streams) into a logBuffer.
type lineWriter struct {
	l      *logBuffer
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.l.note("%s%s", w.prefix, string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// ------------------------------------------------------------- hooks plugin

// hooksPlugin is the host side of Mattermost's "hooks" go-plugin plugin.
type hooksPlugin struct{}

func (hooksPlugin) Server(*goplugin.MuxBroker) (interface{}, error) {
	return nil, errors.New("harness: hooks are served by the plugin")
}

func (hooksPlugin) Client(b *goplugin.MuxBroker, c *rpc.Client) (interface{}, error) {
	return &hooksClient{broker: b, c: c}, nil
}

// hooksClient is the host's net/rpc client on the dispensed hooks stream.
type hooksClient struct {
	broker *goplugin.MuxBroker
	c      *rpc.Client
}

func (h *hooksClient) call(method string, args, ret interface{}) error {
	return h.c.Call("Plugin."+method, args, ret)
}

var pluginSet = map[string]goplugin.Plugin{"hooks": hooksPlugin{}}

// ------------------------------------------------------------------ session

// session is one plugin process driven the way Mattermost drives it.
type session struct {
	exe  string
	logs *logBuffer

	// go-plugin managed launch (plugin.NewClient), as Mattermost does it.
	client *goplugin.Client
	// raw launch (own pipes; used where go-plugin hides what we must observe).
	raw *rawProc

	cmd       *exec.Cmd
	proto     goplugin.ClientProtocol
	handshake time.Duration

	hooks *hooksClient
	api   *fakeAPI
	drv   *fakeDriver

	apiDialed    chan time.Time // closed with a value when the plugin dialed the API id
	driverDialed chan time.Time
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

const confEnv = "MM_METRICS_CONFORMANCE=1"

// managedStartTimeout is Mattermost's StartTimeout; serve mode may raise it for a plugin
// run from source (-start-timeout).
var managedStartTimeout = 3 * time.Second

// startManaged launches exe through go-plugin exactly like Mattermost's supervisor:
// exec.Command(exe) without args, SecureConfig SHA-256, StartTimeout 3 s, netrpc.
func startManaged(exe string, echo bool) (*session, error) {
	return startManagedIn(exe, echo, "")
}

// startManagedIn is startManaged with the process's working directory (serve mode's nodes).
func startManagedIn(exe string, echo bool, dir string) (*session, error) {
	logs := &logBuffer{echo: echo}
	sum, err := fileSHA256(exe)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Dir = dir
	cmd.Env = []string{confEnv} // go-plugin appends os.Environ() and its own variables
	logger := hclog.New(&hclog.LoggerOptions{
		Name:       "plugin",
		Level:      hclog.Trace,
		Output:     logs,
		JSONFormat: true,
	})
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: mmtypes.Handshake,
		Plugins:         pluginSet,
		Cmd:             cmd,
		SecureConfig:    &goplugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		StartTimeout:    managedStartTimeout,
		SyncStdout:      &lineWriter{l: logs, prefix: "plugin_stdout: "},
		SyncStderr:      &lineWriter{l: logs, prefix: "plugin_stderr: "},
		Logger:          logger,
	})
	s := &session{exe: exe, logs: logs, client: client, cmd: cmd}
	t0 := time.Now()
	if _, err := client.Start(); err != nil {
		client.Kill()
		return s, fmt.Errorf("start: %v", err)
	}
	end := time.Now()
	if st := logs.startedAt(); !st.IsZero() && st.Before(end) {
		s.handshake = end.Sub(st)
	} else {
		s.handshake = end.Sub(t0)
	}
	proto, err := client.Client()
	if err != nil {
		client.Kill()
		return s, fmt.Errorf("connect: %v", err)
	}
	s.proto = proto
	return s, nil
}

// rawProc is a plugin process started by the harness itself with pipes it owns, so
// that everything written to stdout after the handshake line can be observed and the
// connection can be dropped without Control.Quit.
type rawProc struct {
	cmd           *exec.Cmd
	conn          net.Conn
	handshakeLine string
	yamux         *yamuxTracker

	mu       sync.Mutex
	stdout   []byte
	stdoutCh chan struct{} // closed at stdout EOF
	exitCh   chan struct{} // closed when the process has been reaped
	exitAt   time.Time
	state    *os.ProcessState
}

func startRaw(exe string, echo bool) (*session, error) {
	logs := &logBuffer{echo: echo}
	s := &session{exe: exe, logs: logs}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append([]string{confEnv}, os.Environ()...)
	cmd.Env = append(cmd.Env,
		mmtypes.Handshake.MagicCookieKey+"="+mmtypes.Handshake.MagicCookieValue,
		"PLUGIN_MIN_PORT=10000", "PLUGIN_MAX_PORT=25000", "PLUGIN_PROTOCOL_VERSIONS=1")
	cmd.Stdin = os.Stdin
	cmd.Stdout = outW
	cmd.Stderr = errW
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return nil, err
	}
	outW.Close()
	errW.Close()
	rp := &rawProc{cmd: cmd, stdoutCh: make(chan struct{}), exitCh: make(chan struct{})}
	s.raw, s.cmd = rp, cmd

	firstLine := make(chan string, 1)
	go func() {
		defer close(rp.stdoutCh)
		defer outR.Close()
		buf := make([]byte, 32*1024)
		sent := false
		for {
			n, err := outR.Read(buf)
			if n > 0 {
				rp.mu.Lock()
				rp.stdout = append(rp.stdout, buf[:n]...)
				if !sent {
					if i := bytes.IndexByte(rp.stdout, '\n'); i >= 0 {
						firstLine <- string(rp.stdout[:i])
						sent = true
					}
				}
				rp.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer errR.Close()
		_, _ = io.Copy(&lineWriter{l: logs, prefix: "stderr: "}, errR)
	}()
	go func() {
		_ = cmd.Wait()
		rp.mu.Lock()
		rp.exitAt = time.Now()
		rp.state = cmd.ProcessState
		rp.mu.Unlock()
		close(rp.exitCh)
	}()

	var line string
	select {
	case line = <-firstLine:
	case <-rp.exitCh:
		return s, errors.New("plugin exited before the handshake line")
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		return s, errors.New("timeout while waiting for plugin to start (3 s)")
	}
	s.handshake = time.Since(t0)
	rp.handshakeLine = line
	addr, err := parseHandshake(line)
	if err != nil {
		_ = cmd.Process.Kill()
		return s, err
	}
	conn, err := net.Dial(addr.Network(), addr.String())
	if err != nil {
		_ = cmd.Process.Kill()
		return s, fmt.Errorf("dial %s: %v", addr, err)
	}
	rp.conn = conn
	rp.yamux = newYamuxTracker()
	rc, err := goplugin.NewRPCClient(newTapConn(conn, rp.yamux), pluginSet)
	if err != nil {
		_ = cmd.Process.Kill()
		return s, fmt.Errorf("rpc client: %v", err)
	}
	_ = rc.SyncStreams(&lineWriter{l: logs, prefix: "plugin_stdout: "}, &lineWriter{l: logs, prefix: "plugin_stderr: "})
	s.proto = rc
	return s, nil
}

// parseHandshake validates the handshake line strictly (what go-plugin accepts,
// plus the constraints the project set itself: netrpc, unix or 127.0.0.1 tcp).
func parseHandshake(line string) (net.Addr, error) {
	line = strings.TrimRight(line, "\r")
	parts := strings.Split(line, "|")
	if len(parts) != 5 && len(parts) != 6 {
		return nil, fmt.Errorf("handshake line %q: want 5 or 6 '|'-separated fields, got %d", line, len(parts))
	}
	if parts[0] != "1" {
		return nil, fmt.Errorf("handshake line %q: core protocol version %q, want 1", line, parts[0])
	}
	if parts[1] != "1" {
		return nil, fmt.Errorf("handshake line %q: app protocol version %q, want 1", line, parts[1])
	}
	if parts[4] != "netrpc" {
		return nil, fmt.Errorf("handshake line %q: protocol %q, want netrpc", line, parts[4])
	}
	if len(parts) == 6 && parts[5] != "" {
		return nil, fmt.Errorf("handshake line %q: 6th field (AutoMTLS cert) must be empty", line)
	}
	switch parts[2] {
	case "unix":
		return net.ResolveUnixAddr("unix", parts[3])
	case "tcp":
		a, err := net.ResolveTCPAddr("tcp", parts[3])
		if err != nil {
			return nil, err
		}
		if !a.IP.IsLoopback() {
			return nil, fmt.Errorf("handshake line %q: tcp address must be loopback", line)
		}
		return a, nil
	}
	return nil, fmt.Errorf("handshake line %q: unknown network %q", line, parts[2])
}

// stdoutAfterHandshake returns what the raw process wrote to stdout after its first
// line (waits for EOF up to d).
func (rp *rawProc) stdoutAfterHandshake(d time.Duration) (string, bool) {
	select {
	case <-rp.stdoutCh:
	case <-time.After(d):
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	out := rp.stdout
	if i := bytes.IndexByte(out, '\n'); i >= 0 {
		out = out[i+1:]
	} else {
		out = nil
	}
	select {
	case <-rp.stdoutCh:
		return string(out), true
	default:
		return string(out), false
	}
}

// exited reports whether the process is gone and how.
func (s *session) exitState() (bool, *os.ProcessState) {
	if s.raw != nil {
		select {
		case <-s.raw.exitCh:
			s.raw.mu.Lock()
			defer s.raw.mu.Unlock()
			return true, s.raw.state
		default:
			return false, nil
		}
	}
	if s.client != nil && s.client.Exited() {
		return true, s.cmd.ProcessState
	}
	return false, nil
}

// waitExit waits up to d for the process to exit.
func (s *session) waitExit(d time.Duration) (bool, *os.ProcessState) {
	deadline := time.Now().Add(d)
	for {
		if ok, st := s.exitState(); ok {
			return true, st
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func describeState(st *os.ProcessState) string {
	if st == nil {
		return "unknown"
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("killed by signal %d (%s)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exit code %d", st.ExitCode())
}

func killedBySignal(st *os.ProcessState) bool {
	if st == nil {
		return false
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled()
}

// forceKill SIGKILLs the process (scenario timeout / cleanup).
func (s *session) forceKill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

// close ends the session the way Mattermost does (Control.Quit, then SIGKILL
// after 2 s) and never blocks for long.
func (s *session) close() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s.client != nil {
			s.client.Kill()
			return
		}
		if s.raw != nil {
			if s.proto != nil {
				_ = s.proto.Close()
			}
			if s.raw.conn != nil {
				_ = s.raw.conn.Close()
			}
			if ok, _ := s.waitExit(2 * time.Second); !ok {
				s.forceKill()
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.forceKill()
	}
}

// --------------------------------------------------------------- activation

type activation struct {
	implemented []string
	activateErr error // rpc error
	activateA   error // Z_OnActivateReturns.A
	calledAt    time.Time
	returnedAt  time.Time
	callsBefore int // API calls recorded before OnActivate returned
}

// dispense performs Dispenser.Dispense("hooks") + Plugin.Implemented.
func (s *session) dispense() ([]string, error) {
	raw, err := s.proto.Dispense("hooks")
	if err != nil {
		return nil, fmt.Errorf("dispense: %v", err)
	}
	h, ok := raw.(*hooksClient)
	if !ok {
		return nil, fmt.Errorf("dispense returned %T", raw)
	}
	s.hooks = h
	var impl []string
	if err := h.call("Implemented", struct{}{}, &impl); err != nil {
		return nil, fmt.Errorf("Plugin.Implemented: %v", err)
	}
	return impl, nil
}

// acceptAndServe is go-plugin's MuxBroker.AcceptAndServe plus a dial notification.
func acceptAndServe(b *goplugin.MuxBroker, id uint32, rcvr interface{}, dialed chan<- time.Time, logs *logBuffer, what string) {
	conn, err := b.Accept(id)
	if err != nil {
		logs.note("%s stream %d: %v", what, id, err)
		close(dialed)
		return
	}
	dialed <- time.Now()
	close(dialed)
	srv := rpc.NewServer()
	if err := srv.RegisterName("Plugin", rcvr); err != nil {
		logs.note("register %s: %v", what, err)
		conn.Close()
		return
	}
	srv.ServeConn(conn)
}

// activate does what Mattermost does on plugin activation: dispense, Implemented,
// reserve API and driver broker ids, serve them, call OnActivate.
func (s *session) activate() (*activation, error) {
	impl, err := s.dispense()
	if err != nil {
		return nil, err
	}
	act := &activation{implemented: impl}
	bundle, _ := filepath.Abs(filepath.Dir(s.exe))
	if s.api == nil { // a restarted plugin keeps the "server's" KV and config (serve mode)
		s.api = newFakeAPI(bundle)
	}
	s.drv = &fakeDriver{api: s.api}
	s.apiDialed = make(chan time.Time, 1)
	s.driverDialed = make(chan time.Time, 1)
	apiID := s.hooks.broker.NextId()
	go acceptAndServe(s.hooks.broker, apiID, s.api, s.apiDialed, s.logs, "API")
	drvID := s.hooks.broker.NextId()
	go acceptAndServe(s.hooks.broker, drvID, s.drv, s.driverDialed, s.logs, "driver")

	var ret mmtypes.Z_OnActivateReturns
	act.calledAt = time.Now()
	act.activateErr = s.hooks.call("OnActivate", &mmtypes.Z_OnActivateArgs{APIMuxId: apiID, DriverMuxId: drvID}, &ret)
	act.returnedAt = time.Now()
	act.callsBefore = s.api.callCount()
	act.activateA = ret.A
	return act, nil
}

// mustActivate activates and turns any activation problem into an error.
func (s *session) mustActivate() (*activation, error) {
	act, err := s.activate()
	if err != nil {
		return nil, err
	}
	if act.activateErr != nil {
		return act, fmt.Errorf("Plugin.OnActivate rpc error: %v", act.activateErr)
	}
	if act.activateA != nil {
		return act, fmt.Errorf("OnActivate returned error: %v", act.activateA)
	}
	return act, nil
}

func jsonString(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

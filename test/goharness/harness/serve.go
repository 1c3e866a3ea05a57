package main

// serve mode: one plugin process (restartable) driven like Mattermost drives it, with
// its HTTP routes reachable over a local HTTP listener so that a test written in any
// language can use them. Each request to /plugins/<id>/... becomes one ServeHTTP call
// through the go-plugin host (response writer and request body on their own broker
// streams, exactly as the server does), streamed back as it is written.
//
//	harness serve -plugin <exe> -filestore <dir> -metrics-listen 127.0.0.1:<port>
//	              [-nodes N] [-addr 127.0.0.1:0] [-config '{"ScrapeIntervalSeconds":1}']
//	              [-start-timeout 3s] [-v]
//
// It prints `listening http://<addr>` on stdout once the plugins are active. With one node
// the plugin's working directory is the harness's (its DBPath resolves against it, as under
// the server); with -nodes N > 1 there are N plugin processes, node i in ./node<i>, sharing
// the KV, the plugin settings and the file store like the nodes of an HA cluster.
// /plugins/<id>/... goes to node 0, /node/<i>/plugins/<id>/... to node i. Control routes
// (POST, ?node=i, default 0):
//
//	/_harness/kill    SIGKILL the plugin process (no OnDeactivate, no Control.Quit)
//	/_harness/start   launch a fresh process and activate it; the KV and config stay
//	/_harness/stop    OnDeactivate, then the supervisor's shutdown (Control.Quit, kill after 2 s)
//
// GET /_harness/kv (the KV keys and values as JSON), and GET /_harness/support-packet (the
// GenerateSupportData hook, as the server calls it for a Support Packet: {"files":
// [{"Filename", "Body" (base64)}], "error"}). The user of a request is its
// Mattermost-User-Id header, passed through; AdminUserID has manage_system, nobody else.
// The harness exits when its stdin closes (so a dead test never leaves it behind).

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/rpc"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"mmharness/mmtypes"
)

// AdminUserID is the one user with manage_system in serve mode.
const AdminUserID = "harnessadminuser0000000000"

// node is one plugin process slot (restartable).
type node struct {
	exe  string
	echo bool
	dir  string // working directory; "" = the harness's
	api  *fakeAPI

	mu   sync.Mutex
	sess *session
}

type server struct {
	nodes []*node
}

func runServe(argv []string) int {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	pluginPath := fs.String("plugin", "", "plugin executable")
	fileDir := fs.String("filestore", "", "FileSettings.Directory (local driver); made absolute")
	metricsListen := fs.String("metrics-listen", "", "MetricsSettings.ListenAddress (the plugin scrapes it)")
	addr := fs.String("addr", "127.0.0.1:0", "HTTP listen address")
	config := fs.String("config", "", "plugin settings as a JSON object (merged over the defaults)")
	verbose := fs.Bool("v", false, "echo go-plugin/plugin logs to stderr")
	nodeCount := fs.Int("nodes", 1, "plugin processes (HA nodes sharing KV and file store; node i runs in ./node<i>)")
	startTimeout := fs.Duration("start-timeout", managedStartTimeout, "go-plugin StartTimeout (Mattermost: 3s; more for a plugin run from source)")
	_ = fs.Parse(argv)
	managedStartTimeout = *startTimeout
	exe, err := resolveExe(*pluginPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	if *fileDir == "" || *metricsListen == "" {
		fmt.Fprintln(os.Stderr, "harness: serve needs -filestore and -metrics-listen")
		return 2
	}
	absFiles, err := filepath.Abs(*fileDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	bundle, _ := filepath.Abs(filepath.Dir(exe))
	api := newFakeAPI(bundle)
	api.fileDir = absFiles
	api.metricsListen = *metricsListen
	api.admins = map[string]bool{AdminUserID: true}
	if *config != "" {
		var extra map[string]interface{}
		if err := json.Unmarshal([]byte(*config), &extra); err != nil {
			fmt.Fprintln(os.Stderr, "harness: -config:", err)
			return 2
		}
		for k, v := range extra {
			api.pluginConfig[strings.ToLower(k)] = v
		}
	}
	if *nodeCount < 1 {
		fmt.Fprintln(os.Stderr, "harness: -nodes must be at least 1")
		return 2
	}
	srv := &server{}
	for i := 0; i < *nodeCount; i++ {
		n := &node{exe: exe, echo: *verbose, api: api}
		if i > 0 {
			n.api = api.sibling()
		}
		if *nodeCount > 1 {
			n.dir = fmt.Sprintf("node%d", i)
			if err := os.MkdirAll(n.dir, 0o755); err != nil {
				fmt.Fprintln(os.Stderr, "harness:", err)
				return 1
			}
		}
		srv.nodes = append(srv.nodes, n)
	}
	stopAll := func() {
		var wg sync.WaitGroup
		for _, n := range srv.nodes {
			wg.Add(1)
			go func(n *node) {
				defer wg.Done()
				n.stopPlugin()
			}(n)
		}
		wg.Wait()
	}
	for i, n := range srv.nodes {
		if err := n.start(); err != nil {
			fmt.Fprintf(os.Stderr, "harness: node %d: %v\n", i, err)
			n.dumpLogs()
			stopAll()
			return 1
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		stopAll()
		return 1
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stopAll()
		os.Exit(0)
	}()
	fmt.Printf("listening http://%s\n", ln.Addr())
	_ = os.Stdout.Sync()
	err = http.Serve(ln, srv)
	stopAll()
	fmt.Fprintln(os.Stderr, "harness:", err)
	return 1
}

func (s *node) current() *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sess
}

// start launches and activates a fresh plugin process on the shared fake API.
func (s *node) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		if ok, _ := s.sess.exitState(); !ok {
			return errors.New("the plugin is still running")
		}
		s.sess.close()
	}
	sess, err := startManagedIn(s.exe, s.echo, s.dir)
	s.sess = sess
	if err != nil {
		return err
	}
	sess.api = s.api
	if _, err := sess.mustActivate(); err != nil {
		return fmt.Errorf("activation: %v", err)
	}
	return nil
}

func (s *node) kill() error {
	sess := s.current()
	if sess == nil {
		return errors.New("no plugin process")
	}
	sess.forceKill()
	if ok, _ := sess.waitExit(10 * time.Second); !ok {
		return errors.New("the plugin did not exit after SIGKILL")
	}
	sess.close()
	return nil
}

func (s *node) stopPlugin() {
	sess := s.current()
	if sess == nil {
		return
	}
	if ok, _ := sess.exitState(); !ok && sess.hooks != nil {
		var r mmtypes.Z_OnDeactivateReturns
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = sess.hooks.call("OnDeactivate", &mmtypes.Z_OnDeactivateArgs{}, &r)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
	}
	sess.close()
}

func (s *node) dumpLogs() {
	if sess := s.current(); sess != nil {
		for _, l := range sess.logs.tail(60) {
			fmt.Fprintln(os.Stderr, "  | "+l)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pick returns the node a request is for: ?node=i on control routes, a /node/<i> path
// prefix on plugin routes (which it strips); node 0 otherwise.
func (s *server) pick(r *http.Request, path string) (*node, string, error) {
	i := 0
	if v := r.URL.Query().Get("node"); v != "" && strings.HasPrefix(path, "/_harness/") {
		if _, err := fmt.Sscanf(v, "%d", &i); err != nil {
			return nil, path, fmt.Errorf("bad node %q", v)
		}
	}
	if strings.HasPrefix(path, "/node/") {
		rest := strings.TrimPrefix(path, "/node/")
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			return nil, path, fmt.Errorf("bad node path %q", path)
		}
		if _, err := fmt.Sscanf(rest[:slash], "%d", &i); err != nil {
			return nil, path, fmt.Errorf("bad node %q", rest[:slash])
		}
		path = rest[slash:]
	}
	if i < 0 || i >= len(s.nodes) {
		return nil, path, fmt.Errorf("no node %d (%d nodes)", i, len(s.nodes))
	}
	return s.nodes[i], path, nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix := "/plugins/" + mmtypes.PluginID
	n, path, err := s.pick(r, r.URL.EscapedPath())
	if err != nil {
		writeJSON(w, 404, map[string]string{"error": "harness: " + err.Error()})
		return
	}
	switch {
	case path == "/_harness/kill" && r.Method == http.MethodPost:
		if err := n.kill(); err != nil {
			writeJSON(w, 500, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, 200, map[string]string{"status": "killed"})
	case path == "/_harness/start" && r.Method == http.MethodPost:
		if err := n.start(); err != nil {
			n.dumpLogs()
			writeJSON(w, 500, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, 200, map[string]string{"status": "started"})
	case path == "/_harness/stop" && r.Method == http.MethodPost:
		n.stopPlugin()
		writeJSON(w, 200, map[string]string{"status": "stopped"})
	case path == "/_harness/support-packet" && r.Method == http.MethodGet:
		n.supportPacket(w)
	case path == "/_harness/kv" && r.Method == http.MethodGet:
		n.api.mu.Lock()
		kv := map[string]string{}
		for k := range n.api.kv {
			if v, ok := n.api.liveLocked(k); ok {
				kv[k] = string(v)
			}
		}
		n.api.mu.Unlock()
		writeJSON(w, 200, kv)
	case strings.HasPrefix(path, prefix+"/"):
		n.proxy(w, r, strings.TrimPrefix(path, prefix))
	default:
		writeJSON(w, 404, map[string]string{"error": "harness: unknown path " + r.URL.Path})
	}
}

// proxyWriter is the response-writer RPC service of one ServeHTTP call, writing
// straight into the test's HTTP response.
type proxyWriter struct {
	mu          sync.Mutex
	w           http.ResponseWriter
	header      http.Header // the plugin's view, synced before WriteHeader
	wroteHeader bool
}

func (p *proxyWriter) writeHeaderLocked(code int) {
	if p.wroteHeader {
		return
	}
	p.wroteHeader = true
	dst := p.w.Header()
	for k, v := range p.header {
		dst[k] = append([]string(nil), v...)
	}
	p.w.WriteHeader(code)
}

func (p *proxyWriter) Header(args struct{}, reply *http.Header) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	*reply = p.header.Clone()
	return nil
}

func (p *proxyWriter) Write(args []byte, reply *struct{}) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeHeaderLocked(http.StatusOK)
	_, err := p.w.Write(args)
	if f, ok := p.w.(http.Flusher); ok {
		f.Flush()
	}
	return err
}

func (p *proxyWriter) WriteHeader(args int, reply *struct{}) error {
	if args < 100 || args > 999 {
		return errors.New("invalid http status code")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writeHeaderLocked(args)
	return nil
}

func (p *proxyWriter) SyncHeader(args http.Header, reply *struct{}) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.header = args.Clone()
	if p.header == nil {
		p.header = http.Header{}
	}
	return nil
}

// proxy performs one ServeHTTP call the way the server's hooksRPCClient.ServeHTTP does.
func (s *node) proxy(w http.ResponseWriter, r *http.Request, target string) {
	sess := s.current()
	if sess == nil || sess.hooks == nil {
		writeJSON(w, 503, map[string]string{"error": "harness: no active plugin"})
		return
	}
	if ok, _ := sess.exitState(); ok {
		writeJSON(w, 503, map[string]string{"error": "harness: the plugin process is not running"})
		return
	}
	h := sess.hooks
	pw := &proxyWriter{w: w, header: http.Header{}}
	rwID := h.broker.NextId()
	go func() {
		conn, err := h.broker.Accept(rwID)
		if err != nil {
			return
		}
		defer conn.Close()
		srv := rpc.NewServer()
		_ = srv.RegisterName("Plugin", pw)
		srv.ServeConn(conn)
	}()
	bodyID := h.broker.NextId()
	go func() {
		conn, err := h.broker.Accept(bodyID)
		if err != nil {
			return
		}
		serveIOReader(r.Body, conn)
	}()
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	u, err := url.Parse(target)
	if err != nil {
		writeJSON(w, 400, map[string]string{"error": err.Error()})
		return
	}
	header := r.Header.Clone()
	args := mmtypes.Z_ServeHTTPArgs{
		ResponseWriterStream: rwID,
		Request: &mmtypes.HTTPRequestSubset{
			Method:     r.Method,
			URL:        u,
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
			Header:     header,
			Host:       r.Host,
			RemoteAddr: r.RemoteAddr,
			RequestURI: r.RequestURI,
		},
		Context:           &mmtypes.Context{RequestId: fmt.Sprintf("serve-%d", time.Now().UnixNano())},
		RequestBodyStream: bodyID,
	}
	callErr := h.c.Call("Plugin.ServeHTTP", args, nil)
	pw.mu.Lock()
	defer pw.mu.Unlock()
	if callErr != nil && !pw.wroteHeader {
		pw.header = http.Header{}
		pw.writeHeaderLocked(http.StatusBadGateway)
		_, _ = fmt.Fprintf(w, `{"error": %q}`, "harness: ServeHTTP failed: "+callErr.Error())
		return
	}
	if !pw.wroteHeader {
		pw.writeHeaderLocked(http.StatusOK)
	}
}

// supportPacket calls GenerateSupportData the way the server does when an admin downloads
// a Support Packet, and answers the files it returned.
func (s *node) supportPacket(w http.ResponseWriter) {
	sess := s.current()
	if sess == nil || sess.hooks == nil {
		writeJSON(w, 503, map[string]string{"error": "harness: no active plugin"})
		return
	}
	var ret mmtypes.Z_GenerateSupportDataReturns
	t0 := time.Now()
	if err := sess.hooks.call("GenerateSupportData", &mmtypes.Z_GenerateSupportDataArgs{A: &mmtypes.Context{RequestId: "support-packet"}}, &ret); err != nil {
		writeJSON(w, 502, map[string]string{"error": "harness: GenerateSupportData rpc: " + err.Error()})
		return
	}
	out := map[string]interface{}{"files": ret.A, "elapsed_ms": time.Since(t0).Milliseconds()}
	if ret.B != nil {
		out["error"] = ret.B.Error()
	}
	writeJSON(w, 200, out)
}

// Command harness is the protocol arbiter for the TypeScript Mattermost metrics
// plugin: it plays an unmodified Mattermost server (hashicorp/go-plugin netrpc host,
// Mattermost's handshake, hooks, API, ServeHTTP streams) against a plugin executable.
//
//	harness conformance -plugin <exe> [-only name[,name...]] [-v]
//	harness bench -plugin <exe> [-n N]
//	harness serve -plugin <exe> -filestore <dir> -metrics-listen <addr>   (see serve.go)
//	harness list
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

func usage() {
	fmt.Fprintf(os.Stderr, `usage:
  harness conformance -plugin <exe> [-only name[,name...]] [-v]
  harness bench -plugin <exe> [-n N] [-warmup W] [-download-mib M]
  harness serve -plugin <exe> -filestore <dir> -metrics-listen <addr> [-addr A] [-config JSON] [-v]
  harness list
`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "conformance":
		os.Exit(runConformance(os.Args[2:]))
	case "bench":
		os.Exit(runBench(os.Args[2:]))
	case "serve":
		os.Exit(runServe(os.Args[2:]))
	case "list":
		for _, sc := range scenarios {
			fmt.Println(sc.name)
		}
	default:
		usage()
	}
}

func resolveExe(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("-plugin is required")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", abs)
	}
	return abs, nil
}

// ---------------------------------------------------------------- scenarios

type scenario struct {
	name    string
	timeout time.Duration
	run     func(c *scenarioCtx)
}

// scenarioCtx collects the outcome of one scenario.
type scenarioCtx struct {
	exe  string
	echo bool

	mu       sync.Mutex
	fails    []string
	details  []string
	sessions []*session
}

func (c *scenarioCtx) failf(format string, args ...interface{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fails = append(c.fails, fmt.Sprintf(format, args...))
}

func (c *scenarioCtx) detailf(format string, args ...interface{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.details = append(c.details, fmt.Sprintf(format, args...))
}

func (c *scenarioCtx) failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.fails) > 0
}

func (c *scenarioCtx) track(s *session) {
	if s == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions = append(c.sessions, s)
}

// launch starts a fresh plugin process through go-plugin (as Mattermost does).
func (c *scenarioCtx) launch() *session {
	s, err := startManaged(c.exe, c.echo)
	c.track(s)
	if err != nil {
		c.failf("%v", err)
		return nil
	}
	return s
}

// launchRaw starts a fresh plugin process with harness-owned pipes.
func (c *scenarioCtx) launchRaw() *session {
	s, err := startRaw(c.exe, c.echo)
	c.track(s)
	if err != nil {
		c.failf("%v", err)
		return nil
	}
	return s
}

// launchActivated = launch + Mattermost's activation; nil on failure.
func (c *scenarioCtx) launchActivated() *session {
	s := c.launch()
	if s == nil {
		return nil
	}
	if _, err := s.mustActivate(); err != nil {
		c.failf("activation: %v", err)
		return nil
	}
	return s
}

func runConformance(argv []string) int {
	fs := flag.NewFlagSet("conformance", flag.ExitOnError)
	pluginPath := fs.String("plugin", "", "plugin executable")
	only := fs.String("only", "", "comma-separated scenario names")
	verbose := fs.Bool("v", false, "echo go-plugin/plugin logs to stderr while running")
	_ = fs.Parse(argv)
	exe, err := resolveExe(*pluginPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	for n := range want {
		found := false
		for _, sc := range scenarios {
			found = found || sc.name == n
		}
		if !found {
			fmt.Fprintf(os.Stderr, "harness: unknown scenario %q (see `harness list`)\n", n)
			return 2
		}
	}

	fmt.Printf("# plugin: %s\n", exe)
	passed, failed := 0, 0
	for _, sc := range scenarios {
		if len(want) > 0 && !want[sc.name] {
			continue
		}
		c := &scenarioCtx{exe: exe, echo: *verbose}
		done := make(chan struct{})
		start := time.Now()
		go func() {
			defer close(done)
			defer func() {
				if r := recover(); r != nil {
					c.failf("harness panic: %v\n%s", r, debug.Stack())
				}
			}()
			sc.run(c)
		}()
		select {
		case <-done:
		case <-time.After(sc.timeout):
			c.failf("scenario timeout after %v", sc.timeout)
			c.mu.Lock()
			for _, s := range c.sessions {
				s.forceKill()
			}
			c.mu.Unlock()
		}
		c.mu.Lock()
		sessions := append([]*session(nil), c.sessions...)
		c.mu.Unlock()
		for _, s := range sessions {
			s.close()
		}
		c.mu.Lock()
		fails, details := append([]string(nil), c.fails...), append([]string(nil), c.details...)
		c.mu.Unlock()
		elapsed := time.Since(start)
		if len(fails) == 0 {
			passed++
			line := "ok " + sc.name
			if len(details) > 0 {
				line += " " + strings.Join(details, ", ")
			}
			fmt.Println(line)
		} else {
			failed++
			fmt.Printf("not ok %s: %s\n", sc.name, oneLine(strings.Join(fails, "; ")))
			fmt.Fprintf(os.Stderr, "--- %s failed after %v; details: %s\n", sc.name, elapsed.Round(time.Millisecond), strings.Join(details, ", "))
			for _, s := range sessions {
				for _, l := range s.logs.tail(40) {
					fmt.Fprintln(os.Stderr, "  | "+l)
				}
			}
		}
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", " | ")
}

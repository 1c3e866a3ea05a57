package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"time"

	"mmharness/mmtypes"
)

type latencyStats struct {
	N      int     `json:"n"`
	P50us  float64 `json:"p50_us"`
	P99us  float64 `json:"p99_us"`
	MeanUs float64 `json:"mean_us"`
	MinUs  float64 `json:"min_us"`
	MaxUs  float64 `json:"max_us"`
}

func stats(d []time.Duration) latencyStats {
	if len(d) == 0 {
		return latencyStats{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	us := func(x time.Duration) float64 { return float64(x.Nanoseconds()) / 1000 }
	pct := func(p float64) time.Duration {
		i := int(p*float64(len(d))+0.5) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(d) {
			i = len(d) - 1
		}
		return d[i]
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return latencyStats{
		N: len(d), P50us: us(pct(0.50)), P99us: us(pct(0.99)),
		MeanUs: us(sum / time.Duration(len(d))), MinUs: us(d[0]), MaxUs: us(d[len(d)-1]),
	}
}

type benchReport struct {
	Plugin       string       `json:"plugin"`
	HandshakeMs  float64      `json:"handshake_ms"`
	ActivateMs   float64      `json:"activate_ms"`
	ClusterEvent latencyStats `json:"cluster_event"`
	ServeHTTP    latencyStats `json:"servehttp_hello"`
	Download     struct {
		Bytes   int64   `json:"bytes"`
		Seconds float64 `json:"seconds"`
		MBps    float64 `json:"mb_per_s"`
		Writes  int     `json:"writes"`
	} `json:"download"`
	Errors []string `json:"errors,omitempty"`
}

func runBench(argv []string) int {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	pluginPath := fs.String("plugin", "", "plugin executable")
	n := fs.Int("n", 2000, "measured iterations per latency benchmark")
	warm := fs.Int("warmup", 200, "warm-up iterations per latency benchmark")
	mib := fs.Int64("download-mib", 256, "download size in MiB")
	verbose := fs.Bool("v", false, "echo logs to stderr")
	_ = fs.Parse(argv)
	exe, err := resolveExe(*pluginPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	rep := benchReport{Plugin: exe}
	s, err := startManaged(exe, *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness bench:", err)
		return 1
	}
	defer s.close()
	rep.HandshakeMs = float64(s.handshake.Microseconds()) / 1000
	t0 := time.Now()
	if _, err := s.mustActivate(); err != nil {
		fmt.Fprintln(os.Stderr, "harness bench: activation:", err)
		return 1
	}
	rep.ActivateMs = float64(time.Since(t0).Microseconds()) / 1000

	// OnPluginClusterEvent round trips.
	ev := &mmtypes.Z_OnPluginClusterEventArgs{A: &mmtypes.Context{}, B: mmtypes.PluginClusterEvent{Id: "bench", Data: []byte("bench")}}
	var lat []time.Duration
	for i := 0; i < *warm+*n; i++ {
		t := time.Now()
		if err := s.hooks.call("OnPluginClusterEvent", ev, &mmtypes.Z_OnPluginClusterEventReturns{}); err != nil {
			rep.Errors = append(rep.Errors, "OnPluginClusterEvent: "+err.Error())
			break
		}
		if i >= *warm {
			lat = append(lat, time.Since(t))
		}
	}
	rep.ClusterEvent = stats(lat)

	// ServeHTTP GET /conformance/hello round trips (broker streams included).
	lat = lat[:0]
	hdr := http.Header{"Mattermost-User-Id": {"bench"}}
	for i := 0; i < *warm+*n; i++ {
		res := s.hooks.serveHTTP(httpReq{Method: "GET", Target: "/conformance/hello", Header: hdr, KeepBody: true})
		if err := checkHello(res, "bench"); err != nil {
			rep.Errors = append(rep.Errors, "ServeHTTP: "+err.Error())
			break
		}
		if i >= *warm {
			lat = append(lat, res.Elapsed)
		}
	}
	rep.ServeHTTP = stats(lat)

	// Download throughput.
	size := *mib << 20
	res := s.hooks.serveHTTP(httpReq{Method: "GET", Target: fmt.Sprintf("/conformance/download?bytes=%d", size), Check: patternCheck})
	switch {
	case res.RPCErr != nil:
		rep.Errors = append(rep.Errors, "download: "+res.RPCErr.Error())
	case res.N != size || res.CheckErr != nil || res.Status != 200:
		rep.Errors = append(rep.Errors, fmt.Sprintf("download: status %d, %d bytes, check %v", res.Status, res.N, res.CheckErr))
	}
	rep.Download.Bytes = res.N
	rep.Download.Seconds = res.Elapsed.Seconds()
	rep.Download.MBps = float64(res.N) / 1e6 / res.Elapsed.Seconds()
	rep.Download.Writes = res.Writes

	b, _ := json.Marshal(rep)
	fmt.Println(string(b))
	if len(rep.Errors) > 0 {
		return 1
	}
	return 0
}

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"mmharness/mmtypes"
)

var scenarios = []scenario{
	{"handshake", 15 * time.Second, scHandshake},
	{"activate", 20 * time.Second, scActivate},
	{"hooks", 20 * time.Second, scHooks},
	{"unknown-hook", 20 * time.Second, scUnknownHook},
	{"servehttp-basic", 20 * time.Second, scServeHTTPBasic},
	{"servehttp-upload", 30 * time.Second, scServeHTTPUpload},
	{"servehttp-download", 60 * time.Second, scServeHTTPDownload},
	{"servehttp-concurrent", 30 * time.Second, scServeHTTPConcurrent},
	{"api", 30 * time.Second, scAPI},
	{"ping-under-load", 60 * time.Second, scPingUnderLoad},
	{"quit", 20 * time.Second, scQuit},
	{"conn-drop", 20 * time.Second, scConnDrop},
	{"stdout-clean", 40 * time.Second, scStdoutClean},
	{"yamux-hygiene", 40 * time.Second, scYamuxHygiene},
}

var requiredHooks = []string{
	"OnActivate", "OnDeactivate", "OnConfigurationChange", "ConfigurationWillBeSaved",
	"ServeHTTP", "ServeMetrics", "OnPluginClusterEvent", "GenerateSupportData",
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

// ---------------------------------------------------------------- handshake

func scHandshake(c *scenarioCtx) {
	s := c.launch()
	if s == nil {
		return
	}
	note := ""
	if s.handshake > 100*time.Millisecond {
		note = " (over the 100 ms target)"
	}
	if s.handshake > 3*time.Second {
		c.failf("handshake took %s (> 3 s StartTimeout)", ms(s.handshake))
	}
	c.detailf("handshake %s%s", ms(s.handshake), note)
}

// ----------------------------------------------------------------- activate

func scActivate(c *scenarioCtx) {
	s := c.launch()
	if s == nil {
		return
	}
	act, err := s.activate()
	if err != nil {
		c.failf("%v", err)
		return
	}
	have := map[string]bool{}
	for _, h := range act.implemented {
		have[h] = true
	}
	var missing []string
	for _, h := range requiredHooks {
		if !have[h] {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		c.failf("Plugin.Implemented %v lacks %v", act.implemented, missing)
	}
	if act.activateErr != nil {
		c.failf("Plugin.OnActivate rpc error: %v", act.activateErr)
	}
	if act.activateA != nil {
		c.failf("OnActivate returned error %q", act.activateA.Error())
	}
	waitDial := func(ch chan time.Time, what string) string {
		select {
		case t, ok := <-ch:
			if !ok {
				c.failf("plugin never dialed the %s broker id (5 s accept timeout)", what)
				return "never"
			}
			d := t.Sub(act.calledAt)
			if d > 5*time.Second {
				c.failf("plugin dialed the %s broker id after %s (> 5 s)", what, ms(d))
			}
			return "+" + ms(d)
		case <-time.After(time.Until(act.calledAt.Add(6 * time.Second))):
			c.failf("plugin did not dial the %s broker id within 5 s", what)
			return "never"
		}
	}
	apiAt := waitDial(s.apiDialed, "API")
	drvAt := waitDial(s.driverDialed, "Driver")
	loaded := false
	for _, call := range s.api.snapshot()[:act.callsBefore] {
		if call.Method == "LoadPluginConfiguration" || call.Method == "GetPluginConfig" {
			loaded = true
		}
	}
	if !loaded {
		c.failf("plugin did not call LoadPluginConfiguration/GetPluginConfig before OnActivate returned")
	}
	c.detailf("OnActivate %s, API dial %s, Driver dial %s, implemented %v", ms(act.returnedAt.Sub(act.calledAt)), apiAt, drvAt, act.implemented)
}

// -------------------------------------------------------------------- hooks

func scHooks(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	h := s.hooks
	{
		var r mmtypes.Z_OnConfigurationChangeReturns
		if err := h.call("OnConfigurationChange", &mmtypes.Z_OnConfigurationChangeArgs{}, &r); err != nil {
			c.failf("OnConfigurationChange rpc: %v", err)
		} else if r.A != nil {
			c.failf("OnConfigurationChange returned %q", r.A.Error())
		}
	}
	{
		var r mmtypes.Z_ConfigurationWillBeSavedReturns
		if err := h.call("ConfigurationWillBeSaved", &mmtypes.Z_ConfigurationWillBeSavedArgs{A: s.api.config(true)}, &r); err != nil {
			c.failf("ConfigurationWillBeSaved rpc: %v", err)
		} else {
			if r.A != nil {
				c.failf("ConfigurationWillBeSaved returned a modified config (want nil)")
			}
			if r.B != nil {
				c.failf("ConfigurationWillBeSaved returned error %q", r.B.Error())
			}
		}
	}
	{
		var r mmtypes.Z_OnPluginClusterEventReturns
		if err := h.call("OnPluginClusterEvent", &mmtypes.Z_OnPluginClusterEventArgs{
			A: &mmtypes.Context{}, B: mmtypes.PluginClusterEvent{Id: "conformance", Data: []byte("hello")},
		}, &r); err != nil {
			c.failf("OnPluginClusterEvent rpc: %v", err)
		}
	}
	{
		var r mmtypes.Z_GenerateSupportDataReturns
		if err := h.call("GenerateSupportData", &mmtypes.Z_GenerateSupportDataArgs{A: &mmtypes.Context{}}, &r); err != nil {
			c.failf("GenerateSupportData rpc: %v", err)
		} else {
			if r.B != nil {
				c.failf("GenerateSupportData returned error %q", r.B.Error())
			}
			named := 0
			var names []string
			for _, f := range r.A {
				if f != nil && f.Filename != "" {
					named++
					names = append(names, fmt.Sprintf("%s(%d B)", f.Filename, len(f.Body)))
				}
			}
			if named == 0 {
				c.failf("GenerateSupportData returned %d files, none with a Filename", len(r.A))
			}
			c.detailf("support files %v", names)
		}
	}
	{
		// ServeMetrics: same streams as ServeHTTP; the server passes an empty Context
		// and the path below /plugins/<id>/metrics.
		res := h.serveHTTP(httpReq{Hook: "ServeMetrics", Method: "GET", Target: "/", Context: &mmtypes.Context{}, KeepBody: true})
		if res.RPCErr != nil {
			c.failf("ServeMetrics rpc: %v", res.RPCErr)
		} else if res.Status >= 500 {
			c.failf("ServeMetrics answered %d", res.Status)
		} else {
			c.detailf("ServeMetrics %d (%d B, %s)", res.Status, len(res.Body), res.Header.Get("Content-Type"))
		}
	}
	{
		var r mmtypes.Z_OnDeactivateReturns
		if err := h.call("OnDeactivate", &mmtypes.Z_OnDeactivateArgs{}, &r); err != nil {
			c.failf("OnDeactivate rpc: %v", err)
		} else if r.A != nil {
			c.failf("OnDeactivate returned %q", r.A.Error())
		}
	}
}

// ------------------------------------------------------------- unknown-hook

func scUnknownHook(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	err := s.hooks.call("MessageHasBeenPosted", &mmtypes.Z_MessageHasBeenPostedArgs{
		A: &mmtypes.Context{RequestId: "r1"}, B: &mmtypes.Post{Id: "p1", UserId: "user1", ChannelId: "c1", Message: "hello"},
	}, &mmtypes.Z_MessageHasBeenPostedReturns{})
	switch {
	case err == nil:
		c.failf("Plugin.MessageHasBeenPosted succeeded; want rpc error \"can't find method\"")
	case !strings.Contains(err.Error(), "can't find method"):
		c.failf("Plugin.MessageHasBeenPosted error %q does not contain \"can't find method\"", err.Error())
	default:
		c.detailf("error %q", err.Error())
	}
	if err := s.proto.Ping(); err != nil {
		c.failf("Control.Ping after unknown hook: %v", err)
	}
	var impl []string
	if err := s.hooks.call("Implemented", struct{}{}, &impl); err != nil {
		c.failf("hooks stream unusable after unknown hook: %v", err)
	}
}

// ------------------------------------------------------------------ servehttp

func checkHello(res *httpResult, user string) error {
	if res.RPCErr != nil {
		return fmt.Errorf("Plugin.ServeHTTP rpc: %v", res.RPCErr)
	}
	var problems []string
	if res.Status != 200 {
		problems = append(problems, fmt.Sprintf("status %d", res.Status))
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		problems = append(problems, fmt.Sprintf("Content-Type %q", ct))
	}
	if string(res.Body) != "hello "+user {
		problems = append(problems, fmt.Sprintf("body %q (want %q)", truncate(string(res.Body), 80), "hello "+user))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, ", "))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func scServeHTTPBasic(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	res := s.hooks.serveHTTP(httpReq{
		Method:   "GET",
		Target:   "/conformance/hello",
		Header:   http.Header{"Mattermost-User-Id": {"user1"}, "Accept": {"*/*"}},
		Context:  &mmtypes.Context{SessionId: "session1", RequestId: "req1", IPAddress: "127.0.0.1", UserAgent: "conformance"},
		KeepBody: true,
	})
	if err := checkHello(res, "user1"); err != nil {
		c.failf("%v", err)
	}
	if err := res.bodyDialed(6 * time.Second); err != nil {
		c.failf("plugin did not dial the request body stream (Mattermost logs an accept error for every such request): %v", err)
	}
	c.detailf("round trip %s, %d write(s)", ms(res.Elapsed), res.Writes)
}

func scServeHTTPUpload(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	const size = 5 << 20
	body := make([]byte, size)
	rand.New(rand.NewSource(20240501)).Read(body)
	sum := sha256.Sum256(body)
	res := s.hooks.serveHTTP(httpReq{
		Method: "POST",
		Target: "/conformance/echo",
		Header: http.Header{
			"Mattermost-User-Id": {"user1"},
			"Content-Type":       {"application/octet-stream"},
			"Content-Length":     {fmt.Sprint(size)},
		},
		Body:     bytes.NewReader(body),
		KeepBody: true,
	})
	if res.RPCErr != nil {
		c.failf("Plugin.ServeHTTP rpc: %v", res.RPCErr)
		return
	}
	if res.Status != 200 {
		c.failf("status %d, body %q", res.Status, truncate(string(res.Body), 200))
		return
	}
	var got map[string]interface{}
	if err := json.Unmarshal(res.Body, &got); err != nil {
		c.failf("response is not JSON: %v (%q)", err, truncate(string(res.Body), 200))
		return
	}
	want := map[string]interface{}{"bytes": float64(size), "sha256": hex.EncodeToString(sum[:])}
	if !reflect.DeepEqual(got, want) {
		c.failf("got %s, want %s", jsonString(got), jsonString(want))
	}
	c.detailf("%s for 5 MiB (%.1f MB/s)", ms(res.Elapsed), float64(size)/1e6/res.Elapsed.Seconds())
}

// patternBuf holds the period-251 download pattern (about 1 MiB of it).
var patternBuf = func() []byte {
	p := make([]byte, 251*4200)
	for i := range p {
		p[i] = byte(i % 251)
	}
	return p
}()

// patternCheck verifies byte i == i % 251 on a streamed body.
func patternCheck(off int64, b []byte) error {
	for len(b) > 0 {
		start := int(off % 251)
		n := len(patternBuf) - start
		if n > len(b) {
			n = len(b)
		}
		if !bytes.Equal(b[:n], patternBuf[start:start+n]) {
			for i := 0; i < n; i++ {
				if b[i] != patternBuf[start+i] {
					return fmt.Errorf("byte %d is %d, want %d", off+int64(i), b[i], patternBuf[start+i])
				}
			}
		}
		b = b[n:]
		off += int64(n)
	}
	return nil
}

func scServeHTTPDownload(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	const size = 52428800
	res := s.hooks.serveHTTP(httpReq{
		Method: "GET",
		Target: fmt.Sprintf("/conformance/download?bytes=%d", size),
		Header: http.Header{"Mattermost-User-Id": {"user1"}},
		Check:  patternCheck,
	})
	if res.RPCErr != nil {
		c.failf("Plugin.ServeHTTP rpc: %v", res.RPCErr)
		return
	}
	if res.Status != 200 {
		c.failf("status %d", res.Status)
	}
	if res.N != size {
		c.failf("received %d bytes, want %d", res.N, size)
	}
	if res.CheckErr != nil {
		c.failf("content: %v", res.CheckErr)
	}
	c.detailf("%d bytes in %s, %.1f MB/s, %d writes", res.N, ms(res.Elapsed), float64(res.N)/1e6/res.Elapsed.Seconds(), res.Writes)
}

func scServeHTTPConcurrent(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	const n = 64
	var wg sync.WaitGroup
	errs := make([]error, n)
	lat := make([]time.Duration, n)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			user := fmt.Sprintf("user%02d", i)
			res := s.hooks.serveHTTP(httpReq{
				Method:   "GET",
				Target:   "/conformance/hello",
				Header:   http.Header{"Mattermost-User-Id": {user}},
				Context:  &mmtypes.Context{RequestId: "req-" + user},
				KeepBody: true,
			})
			errs[i] = checkHello(res, user)
			lat[i] = res.Elapsed
		}(i)
	}
	wg.Wait()
	total := time.Since(t0)
	bad := 0
	for i, err := range errs {
		if err != nil {
			bad++
			if bad <= 3 {
				c.failf("request %d: %v", i, err)
			}
		}
	}
	if bad > 3 {
		c.failf("%d of %d requests wrong", bad, n)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	c.detailf("%d requests in %s (max %s)", n, ms(total), ms(lat[n-1]))
}

// ---------------------------------------------------------------------- api

const expectedAPIJSON = `{"serverVersion":"10.5.0","configDataSource":"********************************","unsanitizedDataSource":"postgres://mmuser:secret@localhost:5432/mattermost?sslmode=disable","siteURL":"http://localhost:8065","metricsListen":":8067","metricsEnable":true,"s3ssl":false,"pluginSetting":60,"licenseId":"lic1","licenseMetrics":true,"enterpriseReady":true,"diagnosticId":"diag-conformance","telemetryId":"diag-conformance","installDate":1700000000000,"bundlePathSet":true,"loadedConfig":{"scrapeintervalseconds":60},"kvGet":"v1","casOk":true,"casWrong":false,"mutexFirst":true,"mutexSecond":false,"cadOk":true,"kvGetAfterDelete":null,"kvList":["k2","mutex_x"],"configSaved":true,"missingMethodError":true}`

// sensitive keys are not echoed in failure messages.
var sensitiveKeys = map[string]bool{"unsanitizedDataSource": true}

func scAPI(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	before := s.api.callCount()
	res := s.hooks.serveHTTP(httpReq{
		Method:   "POST",
		Target:   "/conformance/api",
		Header:   http.Header{"Mattermost-User-Id": {"user1"}, "Content-Type": {"application/json"}},
		Body:     strings.NewReader("{}"),
		KeepBody: true,
	})
	if res.RPCErr != nil {
		c.failf("Plugin.ServeHTTP rpc: %v", res.RPCErr)
		return
	}
	if res.Status != 200 {
		c.failf("status %d, body %q", res.Status, truncate(string(res.Body), 300))
		return
	}
	var got, want map[string]interface{}
	if err := json.Unmarshal(res.Body, &got); err != nil {
		c.failf("response is not a JSON object: %v (%q)", err, truncate(string(res.Body), 300))
		return
	}
	if err := json.Unmarshal([]byte(expectedAPIJSON), &want); err != nil {
		panic(err)
	}
	var diffs []string
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		w, inW := want[k]
		g, inG := got[k]
		switch {
		case !inG:
			diffs = append(diffs, "missing "+k)
		case !inW:
			diffs = append(diffs, fmt.Sprintf("unexpected %s=%s", k, truncate(jsonString(g), 200)))
		case !reflect.DeepEqual(w, g):
			if sensitiveKeys[k] {
				diffs = append(diffs, k+" differs")
			} else {
				diffs = append(diffs, fmt.Sprintf("%s=%s (want %s)", k, jsonString(g), jsonString(w)))
			}
		}
	}
	if len(diffs) > 0 {
		c.failf("response JSON: %s", strings.Join(diffs, ", "))
	}

	// What the fake server recorded.
	calls := s.api.snapshot()[before:]
	find := func(m string) []apiCall {
		var out []apiCall
		for _, cl := range calls {
			if cl.Method == m {
				out = append(out, cl)
			}
		}
		return out
	}
	// Other API calls (e.g. the plugin's own logging) are allowed; the script's calls
	// must each be there exactly once with the right arguments.
	wantCfg := map[string]interface{}{"conformance": "saved", "n": 3.5, "b": true}
	var saves []string
	matched := 0
	for _, cl := range find("SavePluginConfig") {
		got := cl.Args.(mmtypes.Z_SavePluginConfigArgs).A
		if reflect.DeepEqual(got, wantCfg) {
			matched++
		} else {
			saves = append(saves, fmt.Sprintf("%#v", got))
		}
	}
	if matched != 1 {
		c.failf("SavePluginConfig with %v seen %d times (want 1); other saves: %v", jsonString(wantCfg), matched, saves)
	}
	// SaveConfig: the whole Config comes back, decoded by Go's gob into Mattermost's
	// types, with only ClusterSettings.ClusterName changed.
	if saves := find("SaveConfig"); len(saves) != 1 {
		c.failf("SaveConfig seen %d times (want 1)", len(saves))
	} else if cfg := saves[0].Args.(mmtypes.Z_SaveConfigArgs).A; cfg == nil {
		c.failf("SaveConfig with a nil Config")
	} else {
		str := func(p *string) string {
			if p == nil {
				return "<nil>"
			}
			return *p
		}
		var problems []string
		check := func(ok bool, what string) {
			if !ok {
				problems = append(problems, what)
			}
		}
		check(str(cfg.ClusterSettings.ClusterName) == "conformance-saved", "ClusterName "+str(cfg.ClusterSettings.ClusterName))
		check(str(cfg.SqlSettings.DataSource) == "postgres://mmuser:secret@localhost:5432/mattermost?sslmode=disable", "DataSource")
		check(str(cfg.ServiceSettings.SiteURL) == "http://localhost:8065", "SiteURL")
		check(cfg.ServiceSettings.MaximumPayloadSizeBytes != nil && *cfg.ServiceSettings.MaximumPayloadSizeBytes == 300000, "MaximumPayloadSizeBytes")
		check(reflect.DeepEqual(cfg.ServiceSettings.TrustedProxyIPHeader, []string{"X-Forwarded-For", "X-Real-IP"}), "TrustedProxyIPHeader")
		check(len(cfg.SqlSettings.ReplicaLagSettings) == 1 && str(cfg.SqlSettings.ReplicaLagSettings[0].DataSource) == "replica1", "ReplicaLagSettings")
		check(string(cfg.LogSettings.AdvancedLoggingJSON) == "{}", "AdvancedLoggingJSON")
		check(cfg.MetricsSettings.Enable != nil && *cfg.MetricsSettings.Enable, "MetricsSettings.Enable")
		check(cfg.FileSettings.AmazonS3RequestTimeoutMilliseconds != nil && *cfg.FileSettings.AmazonS3RequestTimeoutMilliseconds == 30000, "AmazonS3RequestTimeoutMilliseconds")
		check(reflect.DeepEqual(cfg.PluginSettings.Plugins[mmtypes.PluginID], wantCfg), "Plugins[metrics]")
		check(reflect.DeepEqual(cfg.PluginSettings.Plugins["com.example.other"], map[string]interface{}{"enabled": true, "list": []interface{}{"a", 1.5}}), "Plugins[other]")
		check(cfg.PluginSettings.PluginStates[mmtypes.PluginID] != nil && cfg.PluginSettings.PluginStates[mmtypes.PluginID].Enable, "PluginStates")
		check(cfg.FeatureFlags != nil && cfg.FeatureFlags.TestFeature == "off", "FeatureFlags")
		if len(problems) > 0 {
			c.failf("SaveConfig round trip lost: %v", problems)
		}
	}
	logWant := []struct{ method, msg string }{
		{"LogDebug", "conformance debug"}, {"LogInfo", "conformance info"},
		{"LogWarn", "conformance warn"}, {"LogError", "conformance error"},
	}
	for _, lw := range logWant {
		n := 0
		for _, cl := range find(lw.method) {
			var msg string
			var kv []interface{}
			switch a := cl.Args.(type) {
			case mmtypes.Z_LogDebugArgs:
				msg, kv = a.A, a.B
			case mmtypes.Z_LogInfoArgs:
				msg, kv = a.A, a.B
			case mmtypes.Z_LogWarnArgs:
				msg, kv = a.A, a.B
			case mmtypes.Z_LogErrorArgs:
				msg, kv = a.A, a.B
			}
			if msg != lw.msg {
				continue
			}
			n++
			if !reflect.DeepEqual(kv, []interface{}{"k", "v"}) {
				c.failf("%s(%q) key/values %#v, want [\"k\" \"v\"] as strings", lw.method, msg, kv)
			}
		}
		if n != 1 {
			c.failf("%s(%q) seen %d times, want 1", lw.method, lw.msg, n)
		}
	}
	{
		n := 0
		for _, cl := range find("PublishPluginClusterEvent") {
			a := cl.Args.(mmtypes.Z_PublishPluginClusterEventArgs)
			if a.A.Id != "conformance" {
				continue
			}
			n++
			if string(a.A.Data) != "x" || a.B.SendType != "reliable" || a.B.TargetId != "" {
				c.failf("PublishPluginClusterEvent got event %+v options %+v", a.A, a.B)
			}
		}
		if n != 1 {
			c.failf("PublishPluginClusterEvent(Id \"conformance\") seen %d times, want 1", n)
		}
	}
	{
		n := 0
		for _, cl := range find("PublishWebSocketEvent") {
			a := cl.Args.(mmtypes.Z_PublishWebSocketEventArgs)
			if a.A != "conformance" {
				continue
			}
			n++
			if !reflect.DeepEqual(a.B, map[string]interface{}{"a": "b"}) || a.C == nil || a.C.UserId != "user1" {
				c.failf("PublishWebSocketEvent got data %#v broadcast %+v", a.B, a.C)
			}
		}
		if n != 1 {
			c.failf("PublishWebSocketEvent(\"conformance\") seen %d times, want 1", n)
		}
	}
	{
		n := 0
		for _, cl := range find("KVSetWithOptions") {
			a := cl.Args.(mmtypes.Z_KVSetWithOptionsArgs)
			if a.A != "mutex_x" {
				continue
			}
			n++
			if !bytes.Equal(a.B, []byte{1}) || !a.C.Atomic || a.C.OldValue != nil || a.C.ExpireInSeconds != 15 {
				c.failf("KVSetWithOptions(\"mutex_x\") got value %v options %+v", a.B, a.C)
			}
		}
		if n != 2 {
			c.failf("KVSetWithOptions(\"mutex_x\") seen %d times, want 2", n)
		}
	}
	if n := len(find("NoSuchMethod")); n != 0 {
		c.failf("the fake server recorded NoSuchMethod (%d)", n)
	}
	var seq []string
	for _, cl := range calls {
		seq = append(seq, cl.Method)
	}
	c.detailf("%d API calls in %s", len(calls), ms(res.Elapsed))
	if c.failed() {
		c.detailf("calls %v", seq)
	}
}

// ---------------------------------------------------------- ping-under-load

func scPingUnderLoad(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	busy := make(chan *httpResult, 1)
	t0 := time.Now()
	go func() {
		busy <- s.hooks.serveHTTP(httpReq{
			Method:   "POST",
			Target:   "/conformance/busy?seconds=20",
			Header:   http.Header{"Mattermost-User-Id": {"user1"}},
			KeepBody: true,
		})
	}()
	var maxLat, maxYamux time.Duration
	sess := yamuxSession(s.proto)
	pings, slow := 0, 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var res *httpResult
loop:
	for {
		select {
		case res = <-busy:
			break loop
		case <-tick.C:
			done := make(chan error, 1)
			p0 := time.Now()
			go func() { done <- s.proto.Ping() }()
			select {
			case err := <-done:
				lat := time.Since(p0)
				pings++
				if lat > maxLat {
					maxLat = lat
				}
				if err != nil {
					c.failf("Control.Ping #%d: %v", pings, err)
					break loop
				}
				if lat > time.Second {
					slow++
					c.failf("Control.Ping #%d took %s (> 1 s)", pings, ms(lat))
				}
				if sess != nil {
					// The server's keepalive is a yamux ping (10 s write timeout).
					rtt, err := sess.Ping()
					if err != nil {
						c.failf("yamux ping: %v", err)
						break loop
					}
					if rtt > maxYamux {
						maxYamux = rtt
					}
					if rtt > time.Second {
						c.failf("yamux ping took %s (> 1 s)", ms(rtt))
					}
				}
			case <-time.After(time.Second):
				slow++
				pings++
				c.failf("Control.Ping #%d did not answer within 1 s", pings)
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					c.failf("Control.Ping #%d did not answer within 11 s", pings)
					break loop
				}
				if time.Since(p0) > maxLat {
					maxLat = time.Since(p0)
				}
			}
		}
	}
	if res == nil {
		select {
		case res = <-busy:
		case <-time.After(30 * time.Second):
			c.failf("busy request did not finish")
			return
		}
	}
	busyDur := time.Since(t0)
	if res.RPCErr != nil {
		c.failf("busy request rpc: %v", res.RPCErr)
	} else {
		var got map[string]interface{}
		if res.Status != 200 || json.Unmarshal(res.Body, &got) != nil || !reflect.DeepEqual(got, map[string]interface{}{"done": true}) {
			c.failf("busy request answered %d %q, want 200 {\"done\":true}", res.Status, truncate(string(res.Body), 200))
		}
	}
	if busyDur < 19*time.Second {
		c.failf("busy request returned after %s; expected about 20 s of work", ms(busyDur))
	}
	if pings < 15 {
		c.failf("only %d pings during the busy request", pings)
	}
	c.detailf("%d pings, max ping latency %s (yamux ping max %s), busy took %.1f s", pings, ms(maxLat), ms(maxYamux), busyDur.Seconds())
}

// --------------------------------------------------------------------- quit

func scQuit(c *scenarioCtx) {
	s := c.launchActivated()
	if s == nil {
		return
	}
	t0 := time.Now()
	s.client.Kill() // Control.Quit, close streams+session, wait 2 s, then SIGKILL
	el := time.Since(t0)
	exited, st := s.waitExit(time.Second)
	switch {
	case !exited:
		c.failf("process still running after Kill()")
	case killedBySignal(st):
		c.failf("process did not exit by itself within 2 s of Control.Quit: %s after %s", describeState(st), ms(el))
	case el > 2*time.Second:
		c.failf("exit took %s (> 2 s)", ms(el))
	}
	note := ""
	if s.logs.contains("plugin failed to exit gracefully") {
		note = " (go-plugin logged \"plugin failed to exit gracefully\": the Control.Quit reply or stream close failed)"
	}
	c.detailf("exited in %s, %s%s", ms(el), describeState(st), note)
}

// ---------------------------------------------------------------- conn-drop

// rawStdoutCaptures keeps what raw-launched processes wrote to stdout after the
// handshake line, for stdout-clean.
var (
	rawCapturesMu sync.Mutex
	rawCaptures   []string
)

func scConnDrop(c *scenarioCtx) {
	s := c.launchRaw()
	if s == nil {
		return
	}
	if _, err := s.mustActivate(); err != nil {
		c.failf("activation: %v", err)
		return
	}
	t0 := time.Now()
	_ = s.raw.conn.Close() // no Control.Quit, no stream FINs
	exited, st := s.waitExit(2 * time.Second)
	el := time.Since(t0)
	if !exited {
		c.failf("process still running %s after the connection dropped", ms(el))
		return
	}
	c.detailf("exited %s after the drop, %s", ms(el), describeState(st))
	out, eof := s.raw.stdoutAfterHandshake(time.Second)
	rawCapturesMu.Lock()
	rawCaptures = append(rawCaptures, out)
	rawCapturesMu.Unlock()
	if !eof {
		c.detailf("stdout still open after exit")
	}
}

// ------------------------------------------------------------- stdout-clean

func scStdoutClean(c *scenarioCtx) {
	s := c.launchRaw()
	if s == nil {
		return
	}
	line := s.raw.handshakeLine
	if _, err := s.mustActivate(); err != nil {
		c.failf("activation: %v", err)
		return
	}
	h := s.hooks
	_ = h.call("OnConfigurationChange", &mmtypes.Z_OnConfigurationChangeArgs{}, &mmtypes.Z_OnConfigurationChangeReturns{})
	_ = h.call("OnPluginClusterEvent", &mmtypes.Z_OnPluginClusterEventArgs{A: &mmtypes.Context{}, B: mmtypes.PluginClusterEvent{Id: "conformance", Data: []byte("hello")}}, &mmtypes.Z_OnPluginClusterEventReturns{})
	_ = h.call("GenerateSupportData", &mmtypes.Z_GenerateSupportDataArgs{A: &mmtypes.Context{}}, &mmtypes.Z_GenerateSupportDataReturns{})
	_ = h.call("MessageHasBeenPosted", &mmtypes.Z_MessageHasBeenPostedArgs{A: &mmtypes.Context{}, B: &mmtypes.Post{Id: "p1"}}, &mmtypes.Z_MessageHasBeenPostedReturns{})
	if err := checkHello(h.serveHTTP(httpReq{Method: "GET", Target: "/conformance/hello", Header: http.Header{"Mattermost-User-Id": {"user1"}}, KeepBody: true}), "user1"); err != nil {
		c.failf("hello: %v", err)
	}
	h.serveHTTP(httpReq{Method: "POST", Target: "/conformance/api", Header: http.Header{"Mattermost-User-Id": {"user1"}}, Body: strings.NewReader("{}")})
	h.serveHTTP(httpReq{Method: "GET", Target: "/conformance/download?bytes=1000000"})
	h.serveHTTP(httpReq{Method: "GET", Target: "/conformance/nope"})
	_ = h.call("OnDeactivate", &mmtypes.Z_OnDeactivateArgs{}, &mmtypes.Z_OnDeactivateReturns{})
	_ = s.proto.Ping()
	_ = s.proto.Close() // Control.Quit
	_ = s.raw.conn.Close()
	if ok, _ := s.waitExit(3 * time.Second); !ok {
		s.forceKill()
	}
	out, _ := s.raw.stdoutAfterHandshake(2 * time.Second)
	rawCapturesMu.Lock()
	all := append([]string{out}, rawCaptures...)
	rawCapturesMu.Unlock()
	var dirty []string
	for _, o := range all {
		if o != "" {
			dirty = append(dirty, fmt.Sprintf("%q", truncate(o, 200)))
		}
	}
	if len(dirty) > 0 {
		c.failf("stdout after the handshake line: %s", strings.Join(dirty, " + "))
	}
	c.detailf("handshake line %q, %d process(es) checked", redactPath(line), len(all))
}

// redactPath replaces the socket path in a handshake line.
func redactPath(line string) string {
	p := strings.Split(line, "|")
	if len(p) >= 4 {
		p[3] = "<addr>"
	}
	return strings.Join(p, "|")
}

// ------------------------------------------------------------ yamux-hygiene

// scYamuxHygiene checks frame-level behaviour that Mattermost's yamux v0.1.x relies
// on but the Debian yamux used by go-plugin here would not enforce: every stream the
// host opens is ACKed promptly (v0.1.x closes the whole session after 75 s without
// ACK), pings are answered, the plugin opens even ids with SYN, respects send windows
// and sends no GoAway while in use.
func scYamuxHygiene(c *scenarioCtx) {
	s := c.launchRaw()
	if s == nil {
		return
	}
	if _, err := s.mustActivate(); err != nil {
		c.failf("activation: %v", err)
		return
	}
	h := s.hooks
	if err := checkHello(h.serveHTTP(httpReq{Method: "GET", Target: "/conformance/hello", Header: http.Header{"Mattermost-User-Id": {"user1"}}, KeepBody: true}), "user1"); err != nil {
		c.failf("hello: %v", err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if res := h.serveHTTP(httpReq{Method: "POST", Target: "/conformance/echo", Body: bytes.NewReader(body), KeepBody: true}); res.RPCErr != nil || res.Status != 200 {
		c.failf("echo: status %d rpc %v", res.Status, res.RPCErr)
	}
	if res := h.serveHTTP(httpReq{Method: "GET", Target: "/conformance/download?bytes=4194304", Check: patternCheck}); res.RPCErr != nil || res.N != 4194304 || res.CheckErr != nil {
		c.failf("download: %d bytes, rpc %v, check %v", res.N, res.RPCErr, res.CheckErr)
	}
	_ = h.serveHTTP(httpReq{Method: "POST", Target: "/conformance/api", Body: strings.NewReader("{}")})
	var pingNote string
	if sess := yamuxSession(s.proto); sess != nil {
		for i := 0; i < 3; i++ {
			rtt, err := sess.Ping()
			if err != nil {
				c.failf("yamux ping: %v", err)
				break
			}
			if rtt > time.Second {
				c.failf("yamux ping took %s", ms(rtt))
			}
		}
	} else {
		pingNote = " (yamux session not reachable; ping not checked)"
	}
	time.Sleep(200 * time.Millisecond) // let late ACKs arrive
	r := s.raw.yamux.report()
	for _, v := range r.violations {
		c.failf("%s", v)
	}
	if len(r.unacked) > 0 {
		c.failf("host-opened streams never ACKed by the plugin: %v (yamux v0.1.x in Mattermost closes the session after 75 s)", r.unacked)
	}
	if r.maxAck > time.Second {
		c.failf("slowest stream ACK took %s", ms(r.maxAck))
	}
	if len(r.goAways) > 0 {
		c.failf("plugin sent GoAway %v during normal operation", r.goAways)
	}
	if len(r.pingRTT) == 0 && pingNote == "" {
		c.failf("no yamux ping answered")
	}
	var maxPing time.Duration
	for _, d := range r.pingRTT {
		if d > maxPing {
			maxPing = d
		}
	}
	c.detailf("%d host-opened streams (max ACK %s), %d plugin-opened, %d pings (max %s)%s",
		r.hostStreams, ms(r.maxAck), r.pluginOpened, len(r.pingRTT), ms(maxPing), pingNote)
}

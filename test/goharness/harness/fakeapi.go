package main

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"mmharness/mmtypes"
)

// apiCall is one recorded call the plugin made on the API stream.
type apiCall struct {
	Seq    int
	Method string
	Args   interface{}
	At     time.Time
}

type kvEntry struct {
	value    []byte
	expireAt time.Time // zero = never
}

// fakeAPI is the Mattermost plugin API as served by the harness on the API broker
// stream (net/rpc service "Plugin"). Every exported method with the net/rpc shape is
// an API method; everything else is unexported.
type fakeAPI struct {
	bundlePath string

	mu           *sync.Mutex // shared by the nodes of one serve-mode cluster (with kv)
	calls        []apiCall
	kv           map[string]kvEntry
	pluginConfig map[string]interface{}
	now          func() time.Time

	// serve mode: FileSettings.Directory (absolute), MetricsSettings.ListenAddress, and
	// the user ids that have manage_system. Empty = the conformance defaults.
	fileDir       string
	metricsListen string
	admins        map[string]bool
}

// sibling is another node's API on the same "server": it shares the KV (and its lock),
// the plugin settings and the file store, and has its own call log.
func (a *fakeAPI) sibling() *fakeAPI {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &fakeAPI{
		mu:            a.mu,
		bundlePath:    a.bundlePath,
		kv:            a.kv,
		pluginConfig:  a.pluginConfig,
		now:           a.now,
		fileDir:       a.fileDir,
		metricsListen: a.metricsListen,
		admins:        a.admins,
	}
}

func newFakeAPI(bundlePath string) *fakeAPI {
	return &fakeAPI{
		mu:           &sync.Mutex{},
		bundlePath:   bundlePath,
		kv:           map[string]kvEntry{},
		pluginConfig: map[string]interface{}{"scrapeintervalseconds": 60.0},
		now:          time.Now,
	}
}

func (a *fakeAPI) record(method string, args interface{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, apiCall{Seq: len(a.calls), Method: method, Args: args, At: time.Now()})
}

// snapshot returns a copy of the recorded calls.
func (a *fakeAPI) snapshot() []apiCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiCall(nil), a.calls...)
}

func (a *fakeAPI) callCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

func (a *fakeAPI) callsOf(method string) []apiCall {
	var out []apiCall
	for _, c := range a.snapshot() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func appError(where, id, msg string, status int) *mmtypes.AppError {
	return &mmtypes.AppError{Id: id, Message: msg, Where: where, StatusCode: status}
}

// ------------------------------------------------------------------ config

func (a *fakeAPI) config(unsanitized bool) *mmtypes.Config {
	ds := mmtypes.SanitizedDataSource
	if unsanitized {
		ds = "postgres://mmuser:secret@localhost:5432/mattermost?sslmode=disable"
	}
	a.mu.Lock()
	pc := map[string]interface{}{}
	for k, v := range a.pluginConfig {
		pc[k] = v
	}
	a.mu.Unlock()
	fileDir, metricsListen := "./data/", ":8067"
	if a.fileDir != "" {
		fileDir = a.fileDir
	}
	if a.metricsListen != "" {
		metricsListen = a.metricsListen
	}
	return &mmtypes.Config{
		ServiceSettings: mmtypes.ServiceSettings{
			SiteURL:                 mmtypes.StrPtr("http://localhost:8065"),
			ListenAddress:           mmtypes.StrPtr(":8065"),
			ReadTimeout:             mmtypes.IntPtr(300),
			EnableDeveloper:         mmtypes.BoolPtr(false),
			TrustedProxyIPHeader:    []string{"X-Forwarded-For", "X-Real-IP"},
			MaximumPayloadSizeBytes: mmtypes.Int64Ptr(300000),
		},
		SqlSettings: mmtypes.SqlSettings{
			DriverName:         mmtypes.StrPtr("postgres"),
			DataSource:         mmtypes.StrPtr(ds),
			DataSourceReplicas: []string{},
			MaxIdleConns:       mmtypes.IntPtr(20),
			Trace:              mmtypes.BoolPtr(false),
			AtRestEncryptKey:   mmtypes.StrPtr(mmtypes.SanitizedDataSource),
			ReplicaLagSettings: []*mmtypes.ReplicaLagSettings{{DataSource: mmtypes.StrPtr("replica1"), QueryTimeLag: mmtypes.StrPtr("select 1")}},
		},
		LogSettings: mmtypes.LogSettings{
			EnableConsole:       mmtypes.BoolPtr(true),
			ConsoleLevel:        mmtypes.StrPtr("DEBUG"),
			AdvancedLoggingJSON: []byte(`{}`),
		},
		FileSettings: mmtypes.FileSettings{
			DriverName:                         mmtypes.StrPtr("local"),
			Directory:                          mmtypes.StrPtr(fileDir),
			AmazonS3Bucket:                     mmtypes.StrPtr(""),
			AmazonS3Region:                     mmtypes.StrPtr(""),
			AmazonS3Endpoint:                   mmtypes.StrPtr("s3.amazonaws.com"),
			AmazonS3SSL:                        mmtypes.BoolPtr(false),
			AmazonS3RequestTimeoutMilliseconds: mmtypes.Int64Ptr(30000),
		},
		ClusterSettings: mmtypes.ClusterSettings{
			Enable:      mmtypes.BoolPtr(false),
			ClusterName: mmtypes.StrPtr("conformance"),
			GossipPort:  mmtypes.IntPtr(8074),
		},
		MetricsSettings: mmtypes.MetricsSettings{
			Enable:           mmtypes.BoolPtr(true),
			BlockProfileRate: mmtypes.IntPtr(0),
			ListenAddress:    mmtypes.StrPtr(metricsListen),
		},
		PluginSettings: mmtypes.PluginSettings{
			Enable:                  mmtypes.BoolPtr(true),
			Directory:               mmtypes.StrPtr("./plugins"),
			Plugins:                 map[string]map[string]interface{}{mmtypes.PluginID: pc, "com.example.other": {"enabled": true, "list": []interface{}{"a", 1.5}}},
			PluginStates:            map[string]*mmtypes.PluginState{mmtypes.PluginID: {Enable: true}, "com.example.other": {Enable: false}},
			SignaturePublicKeyFiles: []string{},
		},
		FeatureFlags: &mmtypes.FeatureFlags{TestFeature: "off"},
	}
}

func (a *fakeAPI) GetConfig(args *mmtypes.Z_GetConfigArgs, ret *mmtypes.Z_GetConfigReturns) error {
	a.record("GetConfig", *args)
	ret.A = a.config(false)
	return nil
}

func (a *fakeAPI) GetUnsanitizedConfig(args *mmtypes.Z_GetUnsanitizedConfigArgs, ret *mmtypes.Z_GetUnsanitizedConfigReturns) error {
	a.record("GetUnsanitizedConfig", *args)
	ret.A = a.config(true)
	return nil
}

// LoadPluginConfiguration returns the plugin's settings as JSON with lower-cased
// keys, like the server (settings_schema defaults overlaid with saved values).
func (a *fakeAPI) LoadPluginConfiguration(args *mmtypes.Z_LoadPluginConfigurationArgsArgs, ret *mmtypes.Z_LoadPluginConfigurationArgsReturns) error {
	a.record("LoadPluginConfiguration", *args)
	a.mu.Lock()
	m := map[string]interface{}{}
	for k, v := range a.pluginConfig {
		m[strings.ToLower(k)] = v
	}
	a.mu.Unlock()
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ret.A = b
	return nil
}

func (a *fakeAPI) GetPluginConfig(args *mmtypes.Z_GetPluginConfigArgs, ret *mmtypes.Z_GetPluginConfigReturns) error {
	a.record("GetPluginConfig", *args)
	a.mu.Lock()
	defer a.mu.Unlock()
	ret.A = map[string]interface{}{}
	for k, v := range a.pluginConfig {
		ret.A[k] = v
	}
	return nil
}

func (a *fakeAPI) SavePluginConfig(args *mmtypes.Z_SavePluginConfigArgs, ret *mmtypes.Z_SavePluginConfigReturns) error {
	a.record("SavePluginConfig", *args)
	a.mu.Lock()
	defer a.mu.Unlock()
	m := map[string]interface{}{}
	for k, v := range args.A {
		m[k] = v
	}
	a.pluginConfig = m
	return nil
}

// SaveConfig records the whole Config the plugin sent back (it must round-trip
// every section it received, re-encoded with the server's schema).
func (a *fakeAPI) SaveConfig(args *mmtypes.Z_SaveConfigArgs, ret *mmtypes.Z_SaveConfigReturns) error {
	a.record("SaveConfig", *args)
	return nil
}

// --------------------------------------------------------------- server info

func (a *fakeAPI) GetServerVersion(args *mmtypes.Z_GetServerVersionArgs, ret *mmtypes.Z_GetServerVersionReturns) error {
	a.record("GetServerVersion", *args)
	ret.A = "10.5.0"
	return nil
}

func (a *fakeAPI) GetLicense(args *mmtypes.Z_GetLicenseArgs, ret *mmtypes.Z_GetLicenseReturns) error {
	a.record("GetLicense", *args)
	ret.A = &mmtypes.License{
		Id:           "lic1",
		IssuedAt:     1700000000000,
		StartsAt:     1700000000000,
		ExpiresAt:    4102444800000,
		Features:     &mmtypes.Features{Users: mmtypes.IntPtr(1000), Metrics: mmtypes.BoolPtr(true), Cluster: mmtypes.BoolPtr(true)},
		SkuName:      "Enterprise",
		SkuShortName: "enterprise",
	}
	return nil
}

func (a *fakeAPI) IsEnterpriseReady(args *mmtypes.Z_IsEnterpriseReadyArgs, ret *mmtypes.Z_IsEnterpriseReadyReturns) error {
	a.record("IsEnterpriseReady", *args)
	ret.A = true
	return nil
}

func (a *fakeAPI) GetDiagnosticId(args *mmtypes.Z_GetDiagnosticIdArgs, ret *mmtypes.Z_GetDiagnosticIdReturns) error {
	a.record("GetDiagnosticId", *args)
	ret.A = "diag-conformance"
	return nil
}

func (a *fakeAPI) GetTelemetryId(args *mmtypes.Z_GetTelemetryIdArgs, ret *mmtypes.Z_GetTelemetryIdReturns) error {
	a.record("GetTelemetryId", *args)
	ret.A = "diag-conformance"
	return nil
}

func (a *fakeAPI) GetSystemInstallDate(args *mmtypes.Z_GetSystemInstallDateArgs, ret *mmtypes.Z_GetSystemInstallDateReturns) error {
	a.record("GetSystemInstallDate", *args)
	ret.A = 1700000000000
	return nil
}

func (a *fakeAPI) GetBundlePath(args *mmtypes.Z_GetBundlePathArgs, ret *mmtypes.Z_GetBundlePathReturns) error {
	a.record("GetBundlePath", *args)
	ret.A = a.bundlePath
	return nil
}

// HasPermissionTo: only the serve mode's admins have any permission (manage_system is
// the one the plugin asks about).
func (a *fakeAPI) HasPermissionTo(args *mmtypes.Z_HasPermissionToArgs, ret *mmtypes.Z_HasPermissionToReturns) error {
	a.record("HasPermissionTo", *args)
	a.mu.Lock()
	defer a.mu.Unlock()
	ret.A = args.B != nil && args.B.Id == "manage_system" && a.admins[args.A]
	return nil
}

// --------------------------------------------------------------------- logs

func (a *fakeAPI) LogDebug(args *mmtypes.Z_LogDebugArgs, ret *mmtypes.Z_LogDebugReturns) error {
	a.record("LogDebug", *args)
	return nil
}

func (a *fakeAPI) LogInfo(args *mmtypes.Z_LogInfoArgs, ret *mmtypes.Z_LogInfoReturns) error {
	a.record("LogInfo", *args)
	return nil
}

func (a *fakeAPI) LogWarn(args *mmtypes.Z_LogWarnArgs, ret *mmtypes.Z_LogWarnReturns) error {
	a.record("LogWarn", *args)
	return nil
}

func (a *fakeAPI) LogError(args *mmtypes.Z_LogErrorArgs, ret *mmtypes.Z_LogErrorReturns) error {
	a.record("LogError", *args)
	return nil
}

// ------------------------------------------------------------------- events

func (a *fakeAPI) PublishPluginClusterEvent(args *mmtypes.Z_PublishPluginClusterEventArgs, ret *mmtypes.Z_PublishPluginClusterEventReturns) error {
	a.record("PublishPluginClusterEvent", *args)
	return nil
}

func (a *fakeAPI) PublishWebSocketEvent(args *mmtypes.Z_PublishWebSocketEventArgs, ret *mmtypes.Z_PublishWebSocketEventReturns) error {
	a.record("PublishWebSocketEvent", *args)
	return nil
}

// ----------------------------------------------------------------------- KV
//
// Semantics follow Mattermost's plugin KV store: a nil/empty value deletes, expired
// keys behave as absent, Atomic+OldValue nil = set-if-absent, Atomic+OldValue =
// compare-and-set, value nil in an atomic set = compare-and-delete.

func (a *fakeAPI) liveLocked(key string) ([]byte, bool) {
	e, ok := a.kv[key]
	if !ok {
		return nil, false
	}
	if !e.expireAt.IsZero() && !a.now().Before(e.expireAt) {
		delete(a.kv, key)
		return nil, false
	}
	return e.value, true
}

func (a *fakeAPI) expiry(seconds int64) time.Time {
	if seconds <= 0 {
		return time.Time{}
	}
	return a.now().Add(time.Duration(seconds) * time.Second)
}

func (a *fakeAPI) setLocked(key string, value []byte, expireInSeconds int64) {
	if len(value) == 0 {
		delete(a.kv, key)
		return
	}
	a.kv[key] = kvEntry{value: append([]byte(nil), value...), expireAt: a.expiry(expireInSeconds)}
}

func (a *fakeAPI) KVSet(args *mmtypes.Z_KVSetArgs, ret *mmtypes.Z_KVSetReturns) error {
	a.record("KVSet", *args)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.setLocked(args.A, args.B, 0)
	return nil
}

func (a *fakeAPI) KVSetWithExpiry(args *mmtypes.Z_KVSetWithExpiryArgs, ret *mmtypes.Z_KVSetWithExpiryReturns) error {
	a.record("KVSetWithExpiry", *args)
	if args.C < 0 {
		ret.A = appError("KVSetWithExpiry", "app.plugin_store.save.app_error", "negative expiry", 400)
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.setLocked(args.A, args.B, args.C)
	return nil
}

func (a *fakeAPI) kvSetWithOptions(key string, value []byte, opt mmtypes.PluginKVSetOptions) (bool, *mmtypes.AppError) {
	if opt.ExpireInSeconds < 0 {
		return false, appError("KVSetWithOptions", "model.plugin_kvset_options.is_valid.expire_in_seconds.app_error", "negative expiry", 400)
	}
	if !opt.Atomic && len(opt.OldValue) > 0 {
		return false, appError("KVSetWithOptions", "model.plugin_kvset_options.is_valid.old_value.app_error", "OldValue requires Atomic", 400)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, exists := a.liveLocked(key)
	if !opt.Atomic {
		a.setLocked(key, value, opt.ExpireInSeconds)
		return true, nil
	}
	if len(value) == 0 { // compare-and-delete
		if len(opt.OldValue) == 0 {
			// Like the server: nil can't be stored, so nothing is done.
			return false, nil
		}
		if exists && bytes.Equal(cur, opt.OldValue) {
			delete(a.kv, key)
			return true, nil
		}
		return false, nil
	}
	if len(opt.OldValue) == 0 { // set if absent
		if exists {
			return false, nil
		}
		a.setLocked(key, value, opt.ExpireInSeconds)
		return true, nil
	}
	if exists && bytes.Equal(cur, opt.OldValue) {
		a.setLocked(key, value, opt.ExpireInSeconds)
		return true, nil
	}
	return false, nil
}

func (a *fakeAPI) KVSetWithOptions(args *mmtypes.Z_KVSetWithOptionsArgs, ret *mmtypes.Z_KVSetWithOptionsReturns) error {
	a.record("KVSetWithOptions", *args)
	ret.A, ret.B = a.kvSetWithOptions(args.A, args.B, args.C)
	return nil
}

func (a *fakeAPI) KVCompareAndSet(args *mmtypes.Z_KVCompareAndSetArgs, ret *mmtypes.Z_KVCompareAndSetReturns) error {
	a.record("KVCompareAndSet", *args)
	ret.A, ret.B = a.kvSetWithOptions(args.A, args.C, mmtypes.PluginKVSetOptions{Atomic: true, OldValue: args.B})
	return nil
}

func (a *fakeAPI) KVCompareAndDelete(args *mmtypes.Z_KVCompareAndDeleteArgs, ret *mmtypes.Z_KVCompareAndDeleteReturns) error {
	a.record("KVCompareAndDelete", *args)
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, exists := a.liveLocked(args.A)
	if exists && bytes.Equal(cur, args.B) {
		delete(a.kv, args.A)
		ret.A = true
	}
	return nil
}

func (a *fakeAPI) KVGet(args *mmtypes.Z_KVGetArgs, ret *mmtypes.Z_KVGetReturns) error {
	a.record("KVGet", *args)
	a.mu.Lock()
	defer a.mu.Unlock()
	if v, ok := a.liveLocked(args.A); ok {
		ret.A = append([]byte(nil), v...)
	}
	return nil
}

func (a *fakeAPI) KVDelete(args *mmtypes.Z_KVDeleteArgs, ret *mmtypes.Z_KVDeleteReturns) error {
	a.record("KVDelete", *args)
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.kv, args.A)
	return nil
}

func (a *fakeAPI) KVDeleteAll(args *mmtypes.Z_KVDeleteAllArgs, ret *mmtypes.Z_KVDeleteAllReturns) error {
	a.record("KVDeleteAll", *args)
	a.mu.Lock()
	defer a.mu.Unlock()
	for k := range a.kv { // in place: other nodes of a serve-mode cluster share the map
		delete(a.kv, k)
	}
	return nil
}

func (a *fakeAPI) KVList(args *mmtypes.Z_KVListArgs, ret *mmtypes.Z_KVListReturns) error {
	a.record("KVList", *args)
	if args.A < 0 || args.B < 0 {
		ret.B = appError("KVList", "app.plugin_store.list.app_error", "negative page or perPage", 400)
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]string, 0, len(a.kv))
	for k := range a.kv {
		if _, ok := a.liveLocked(k); ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	start := args.A * args.B
	if start > len(keys) {
		start = len(keys)
	}
	end := start + args.B
	if end > len(keys) {
		end = len(keys)
	}
	ret.A = keys[start:end]
	return nil
}

// -------------------------------------------------------------- fake driver

// fakeDriver is served on the DB driver broker id. The harness has no database:
// Conn/ConnPing answer with an error the way a failing driver would.
type fakeDriver struct {
	api *fakeAPI
}

var errNoDB = &mmtypes.ErrorString{Err: "conformance harness: no database"}

func (d *fakeDriver) Conn(isMaster bool, ret *mmtypes.Z_DbStrErrReturn) error {
	d.api.record("Driver.Conn", isMaster)
	ret.B = errNoDB
	return nil
}

func (d *fakeDriver) ConnPing(connID string, ret *mmtypes.Z_DbErrReturn) error {
	d.api.record("Driver.ConnPing", connID)
	ret.A = errNoDB
	return nil
}

func (d *fakeDriver) ConnClose(connID string, ret *mmtypes.Z_DbErrReturn) error {
	d.api.record("Driver.ConnClose", connID)
	return nil
}

package main

import (
	"encoding/json"
	"net/rpc"
	"strings"

	"mmharness/mmtypes"
)

// apiClient is the plugin's net/rpc client on the API stream (service "Plugin").
type apiClient struct {
	c *rpc.Client
}

func (a *apiClient) call(method string, args, ret interface{}) error {
	return a.c.Call("Plugin."+method, args, ret)
}

func (a *apiClient) LoadPluginConfiguration() ([]byte, error) {
	var ret mmtypes.Z_LoadPluginConfigurationArgsReturns
	err := a.call("LoadPluginConfiguration", &mmtypes.Z_LoadPluginConfigurationArgsArgs{}, &ret)
	return ret.A, err
}

// appErr turns a nil *AppError into a nil error (avoids typed-nil interfaces).
func appErr(e *mmtypes.AppError) error {
	if e == nil {
		return nil
	}
	return e
}

// apiScript runs the fixed API call sequence of the `api` conformance scenario and
// returns the JSON object the harness compares.
func (s *hooksServer) apiScript() map[string]interface{} {
	out := map[string]interface{}{}
	errs := []string{}
	fail := func(what string, err error) {
		if err != nil {
			errs = append(errs, what+": "+err.Error())
		}
	}
	api, err := s.apiOrErr()
	if err != nil {
		return map[string]interface{}{"error": err.Error()}
	}

	{
		var r mmtypes.Z_GetServerVersionReturns
		fail("GetServerVersion", api.call("GetServerVersion", &mmtypes.Z_GetServerVersionArgs{}, &r))
		out["serverVersion"] = r.A
	}
	{
		var r mmtypes.Z_GetConfigReturns
		fail("GetConfig", api.call("GetConfig", &mmtypes.Z_GetConfigArgs{}, &r))
		if c := r.A; c != nil {
			out["configDataSource"] = strOf(c.SqlSettings.DataSource)
			out["siteURL"] = strOf(c.ServiceSettings.SiteURL)
			out["metricsListen"] = strOf(c.MetricsSettings.ListenAddress)
			out["metricsEnable"] = boolOf(c.MetricsSettings.Enable)
			out["s3ssl"] = boolOf(c.FileSettings.AmazonS3SSL)
			if p := c.PluginSettings.Plugins[mmtypes.PluginID]; p != nil {
				out["pluginSetting"] = p["scrapeintervalseconds"]
			}
		}
	}
	{
		var r mmtypes.Z_GetUnsanitizedConfigReturns
		fail("GetUnsanitizedConfig", api.call("GetUnsanitizedConfig", &mmtypes.Z_GetUnsanitizedConfigArgs{}, &r))
		if r.A != nil {
			out["unsanitizedDataSource"] = strOf(r.A.SqlSettings.DataSource)
		}
	}
	{
		var r mmtypes.Z_GetLicenseReturns
		fail("GetLicense", api.call("GetLicense", &mmtypes.Z_GetLicenseArgs{}, &r))
		if r.A != nil {
			out["licenseId"] = r.A.Id
			out["licenseMetrics"] = r.A.Features != nil && boolOf(r.A.Features.Metrics)
		}
	}
	{
		var r mmtypes.Z_IsEnterpriseReadyReturns
		fail("IsEnterpriseReady", api.call("IsEnterpriseReady", &mmtypes.Z_IsEnterpriseReadyArgs{}, &r))
		out["enterpriseReady"] = r.A
	}
	{
		var r mmtypes.Z_GetDiagnosticIdReturns
		fail("GetDiagnosticId", api.call("GetDiagnosticId", &mmtypes.Z_GetDiagnosticIdArgs{}, &r))
		out["diagnosticId"] = r.A
	}
	{
		var r mmtypes.Z_GetTelemetryIdReturns
		fail("GetTelemetryId", api.call("GetTelemetryId", &mmtypes.Z_GetTelemetryIdArgs{}, &r))
		out["telemetryId"] = r.A
	}
	{
		var r mmtypes.Z_GetSystemInstallDateReturns
		fail("GetSystemInstallDate", api.call("GetSystemInstallDate", &mmtypes.Z_GetSystemInstallDateArgs{}, &r))
		fail("GetSystemInstallDate.B", appErr(r.B))
		out["installDate"] = r.A
	}
	{
		var r mmtypes.Z_GetBundlePathReturns
		fail("GetBundlePath", api.call("GetBundlePath", &mmtypes.Z_GetBundlePathArgs{}, &r))
		out["bundlePathSet"] = r.A != "" && r.B == nil
	}
	{
		raw, err := api.LoadPluginConfiguration()
		fail("LoadPluginConfiguration", err)
		var cfg interface{}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			fail("LoadPluginConfiguration json", err)
		}
		out["loadedConfig"] = cfg
	}
	if !fault("api-skip-save") {
		var r mmtypes.Z_SavePluginConfigReturns
		fail("SavePluginConfig", api.call("SavePluginConfig", &mmtypes.Z_SavePluginConfigArgs{
			A: map[string]interface{}{"conformance": "saved", "n": 3.5, "b": true},
		}, &r))
		fail("SavePluginConfig.A", appErr(r.A))
	}
	{
		// Read-modify-write of the whole server config, as a plugin enabling a setting would.
		var g mmtypes.Z_GetUnsanitizedConfigReturns
		fail("GetUnsanitizedConfig", api.call("GetUnsanitizedConfig", &mmtypes.Z_GetUnsanitizedConfigArgs{}, &g))
		if g.A != nil {
			name := "conformance-saved"
			g.A.ClusterSettings.ClusterName = &name
			var r mmtypes.Z_SaveConfigReturns
			err := api.call("SaveConfig", &mmtypes.Z_SaveConfigArgs{A: g.A}, &r)
			fail("SaveConfig", err)
			out["configSaved"] = err == nil && r.A == nil
		}
	}
	for _, lvl := range []string{"Debug", "Info", "Warn", "Error"} {
		msg := "conformance " + strings.ToLower(lvl)
		kv := []interface{}{"k", "v"}
		var err error
		switch lvl {
		case "Debug":
			err = api.call("LogDebug", &mmtypes.Z_LogDebugArgs{A: msg, B: kv}, &mmtypes.Z_LogDebugReturns{})
		case "Info":
			err = api.call("LogInfo", &mmtypes.Z_LogInfoArgs{A: msg, B: kv}, &mmtypes.Z_LogInfoReturns{})
		case "Warn":
			err = api.call("LogWarn", &mmtypes.Z_LogWarnArgs{A: msg, B: kv}, &mmtypes.Z_LogWarnReturns{})
		case "Error":
			err = api.call("LogError", &mmtypes.Z_LogErrorArgs{A: msg, B: kv}, &mmtypes.Z_LogErrorReturns{})
		}
		fail("Log"+lvl, err)
	}
	{
		var r mmtypes.Z_KVDeleteAllReturns
		fail("KVDeleteAll", api.call("KVDeleteAll", &mmtypes.Z_KVDeleteAllArgs{}, &r))
		fail("KVDeleteAll.A", appErr(r.A))
	}
	{
		var r mmtypes.Z_KVSetReturns
		fail("KVSet", api.call("KVSet", &mmtypes.Z_KVSetArgs{A: "k1", B: []byte("v1")}, &r))
		fail("KVSet.A", appErr(r.A))
	}
	{
		var r mmtypes.Z_KVGetReturns
		fail("KVGet", api.call("KVGet", &mmtypes.Z_KVGetArgs{A: "k1"}, &r))
		out["kvGet"] = bytesOrNil(r.A)
	}
	{
		var r mmtypes.Z_KVSetWithExpiryReturns
		fail("KVSetWithExpiry", api.call("KVSetWithExpiry", &mmtypes.Z_KVSetWithExpiryArgs{A: "k2", B: []byte("v2"), C: 60}, &r))
		fail("KVSetWithExpiry.A", appErr(r.A))
	}
	{
		var r mmtypes.Z_KVCompareAndSetReturns
		fail("KVCompareAndSet", api.call("KVCompareAndSet", &mmtypes.Z_KVCompareAndSetArgs{A: "k1", B: []byte("v1"), C: []byte("v1b")}, &r))
		out["casOk"] = r.A
	}
	{
		var r mmtypes.Z_KVCompareAndSetReturns
		fail("KVCompareAndSet", api.call("KVCompareAndSet", &mmtypes.Z_KVCompareAndSetArgs{A: "k1", B: []byte("wrong"), C: []byte("x")}, &r))
		out["casWrong"] = r.A
	}
	for i, key := range []string{"mutexFirst", "mutexSecond"} {
		var r mmtypes.Z_KVSetWithOptionsReturns
		fail("KVSetWithOptions", api.call("KVSetWithOptions", &mmtypes.Z_KVSetWithOptionsArgs{
			A: "mutex_x", B: []byte{0x01}, C: mmtypes.PluginKVSetOptions{Atomic: true, ExpireInSeconds: 15},
		}, &r))
		_ = i
		out[key] = r.A
	}
	{
		var r mmtypes.Z_KVCompareAndDeleteReturns
		fail("KVCompareAndDelete", api.call("KVCompareAndDelete", &mmtypes.Z_KVCompareAndDeleteArgs{A: "k1", B: []byte("v1b")}, &r))
		out["cadOk"] = r.A
	}
	{
		var r mmtypes.Z_KVGetReturns
		fail("KVGet", api.call("KVGet", &mmtypes.Z_KVGetArgs{A: "k1"}, &r))
		out["kvGetAfterDelete"] = bytesOrNil(r.A)
	}
	{
		var r mmtypes.Z_KVListReturns
		fail("KVList", api.call("KVList", &mmtypes.Z_KVListArgs{A: 0, B: 100}, &r))
		keys := r.A
		if keys == nil {
			keys = []string{}
		}
		out["kvList"] = keys
	}
	{
		var r mmtypes.Z_PublishPluginClusterEventReturns
		fail("PublishPluginClusterEvent", api.call("PublishPluginClusterEvent", &mmtypes.Z_PublishPluginClusterEventArgs{
			A: mmtypes.PluginClusterEvent{Id: "conformance", Data: []byte("x")},
			B: mmtypes.PluginClusterEventSendOptions{SendType: "reliable"},
		}, &r))
		fail("PublishPluginClusterEvent.A", r.A)
	}
	{
		var r mmtypes.Z_PublishWebSocketEventReturns
		fail("PublishWebSocketEvent", api.call("PublishWebSocketEvent", &mmtypes.Z_PublishWebSocketEventArgs{
			A: "conformance", B: map[string]interface{}{"a": "b"}, C: &mmtypes.WebsocketBroadcast{UserId: "user1"},
		}, &r))
	}
	{
		err := api.call("NoSuchMethod", &struct{}{}, &struct{}{})
		out["missingMethodError"] = err != nil && strings.Contains(err.Error(), "can't find method")
	}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	return out
}

func strOf(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func boolOf(p *bool) bool { return p != nil && *p }

func bytesOrNil(b []byte) interface{} {
	if b == nil {
		return nil
	}
	return string(b)
}

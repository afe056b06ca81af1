package metricsserving

import "testing"

func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true,
		":8080": false, "0.0.0.0:8080": false, "10.0.0.1:8080": false, "[::]:8080": false, "garbage": false} {
		_, err := Options(addr, false, "")
		if (err == nil) != ok {
			t.Errorf("plain HTTP on %s: error %v, want allowed %v", addr, err, ok)
		}
	}
	o, err := Options(":8443", true, "")
	if err != nil || !o.SecureServing || o.FilterProvider == nil {
		t.Errorf("secure options = %+v, %v: want HTTPS with the authentication filter", o, err)
	}
	if o, err := Options("0", false, ""); err != nil || o.BindAddress != "0" {
		t.Errorf("disabled metrics: %+v %v", o, err)
	}
}

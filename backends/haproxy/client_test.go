package haproxy

import "testing"

func TestParseServersState(t *testing.T) {
	out := `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord
3 wotr_api_backend 1 api1 127.0.0.1 2 0 1 1 12 6 3 4 6 0 0 0 - 8001 -
3 wotr_api_backend 2 api2 127.0.0.1 2 8 1 1 3 6 3 4 6 0 0 0 - 8002 -
3 wotr_api_backend 3 api3 0.0.0.0 0 32 1 1 3 6 3 4 6 0 0 0 - 0 -
`
	got, err := ParseServersState(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d servers, want 3", len(got))
	}
	if g := got[0]; g.Server != "api1" || g.Port != 8001 || g.OpState != 2 || g.Draining() || g.Maintenance() {
		t.Errorf("api1 %+v", g)
	}
	if !got[1].Draining() || got[1].Maintenance() {
		t.Errorf("api2 %+v: want draining", got[1])
	}
	if !got[2].Maintenance() {
		t.Errorf("api3 %+v: want maintenance", got[2])
	}
}

func TestParseStat(t *testing.T) {
	out := "# pxname,svname,qcur,qmax,scur,smax,status,\nwotr_api_backend,api1,0,0,3,9,UP,\nwotr_api_backend,BACKEND,0,0,3,9,UP,\n"
	got, err := ParseStat(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["svname"] != "api1" || got[0]["scur"] != "3" || got[1]["status"] != "UP" {
		t.Fatalf("stats %v", got)
	}
}

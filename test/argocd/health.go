package argocd

import (
	"fmt"
	"os"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"
)

// CustomizationsDir is where the health checks live, from the repository root.
const CustomizationsDir = "config/argocd/resource_customizations"

// Scripts reads every kind's health.lua below root's CustomizationsDir, by kind.
func Scripts(root string) (map[string]string, error) {
	paths, err := filepath.Glob(filepath.Join(root, CustomizationsDir, "*", "*", "health.lua"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(filepath.Dir(p))] = string(b)
	}
	return out, nil
}

// Health runs a health script on an object decoded from JSON or YAML, as Argo CD does, and
// returns the status and message it set.
func Health(script string, obj map[string]any) (status, message string, err error) {
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		return "", "", fmt.Errorf("health script: %w", err)
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("health script returned %s, not a table", L.Get(-1).Type())
	}
	msg := ""
	if m := hs.RawGetString("message"); m != lua.LNil {
		msg = m.String()
	}
	return hs.RawGetString("status").String(), msg, nil
}

// toLua turns a decoded value into a Lua value, as Argo CD hands objects to its scripts.
func toLua(L *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range x {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range x {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case nil:
		return lua.LNil
	}
	return lua.LString(fmt.Sprint(v))
}

package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wotr/wotr-tui/platform/api"
	"github.com/wotr/wotr-tui/platform/consumer"
)

// No Docker engine runs here, so the images are not built. What the engine
// would run is checked instead: the build stage's base matches go.mod, its
// go build command runs as written, and the binary it makes can run in the
// distroless static image (no dynamic loader) and is what the image starts,
// on the port the service listens on by default.
func TestDockerfilesBuildStage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries with the Dockerfiles' flags")
	}
	goMod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	apiCfg, err := api.ConfigFromEnv(api.MapLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	consumerCfg, err := consumer.ConfigFromEnv(api.MapLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	for file, listen := range map[string]string{"Dockerfile.api": apiCfg.ListenAddr, "Dockerfile.consumer": consumerCfg.ListenAddr} {
		t.Run(file, func(t *testing.T) {
			stages := readDockerfile(t, file)
			if len(stages) != 2 {
				t.Fatalf("%d stages, want build and runtime", len(stages))
			}
			build, runtime := stages[0], stages[1]
			if want := "golang:" + string(goVersion[1]) + " AS build"; build[0].args != want {
				t.Errorf("build stage FROM %q, want %q (go.mod's version)", build[0].args, want)
			}
			if !strings.HasPrefix(runtime[0].args, "gcr.io/distroless/static") {
				t.Errorf("runtime stage FROM %q: the checks below assume distroless static", runtime[0].args)
			}
			out := t.TempDir()
			var built, copied string
			for _, in := range build {
				if in.cmd != "RUN" || !strings.Contains(in.args, "go build") {
					continue
				}
				words := shellWords(in.args)
				var env []string
				for len(words) > 0 && strings.Contains(words[0], "=") {
					env, words = append(env, words[0]), words[1:]
				}
				for i, w := range words {
					if w == "-o" && i+1 < len(words) {
						built = words[i+1]
						words[i+1] = filepath.Join(out, filepath.Base(built))
					}
				}
				cmd := exec.Command(words[0], words[1:]...)
				cmd.Dir = filepath.Join("..", "..")
				cmd.Env = append(os.Environ(), env...)
				if msg, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", in.args, err, msg)
				}
			}
			if built == "" {
				t.Fatal("the build stage runs no go build -o")
			}
			bin, err := elf.Open(filepath.Join(out, filepath.Base(built)))
			if err != nil {
				t.Fatal(err)
			}
			defer bin.Close()
			for _, p := range bin.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s needs a dynamic loader; distroless static has none", built)
				}
			}
			for _, in := range runtime {
				switch in.cmd {
				case "COPY":
					if f := strings.Fields(in.args); len(f) == 3 && f[0] == "--from=build" && f[1] == built {
						copied = f[2]
					}
				case "ENTRYPOINT":
					if in.args != `["`+copied+`"]` {
						t.Errorf("ENTRYPOINT %s, want the copied binary %s", in.args, copied)
					}
				case "EXPOSE":
					if _, port, _ := strings.Cut(listen, ":"); in.args != port {
						t.Errorf("EXPOSE %s, but the service listens on %s by default", in.args, listen)
					}
				}
			}
			if copied == "" {
				t.Errorf("the runtime stage does not copy %s from the build stage", built)
			}
		})
	}
}

type instruction struct{ cmd, args string }

// readDockerfile splits a Dockerfile into stages of instructions; it knows
// the little these files use: comments, one instruction per line.
func readDockerfile(t *testing.T, name string) [][]instruction {
	t.Helper()
	data, err := Files.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			t.Fatalf("%s: line continuations are not read by this test: %s", name, line)
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before FROM", name, line)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// shellWords splits a shell-form command on spaces, keeping double-quoted
// parts together without their quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quoted, inWord := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

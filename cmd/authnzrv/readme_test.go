package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's shell blocks are part of what is tested: every ```sh block
// is run unless its first line is the skip marker followed by the reason
// (a service the test cannot assume, a server left running, a long run).
const (
	readmePath       = "../../README.md"
	readmeSkipMarker = "# not run by the README test:"
	// readmeBuild is the build line of the README; the test builds the
	// binary once and stands it in for this line.
	readmeBuild = "go build -o authnzrv ./cmd/authnzrv"
	// readmeBlockTimeout bounds one block's run.
	readmeBlockTimeout = 3 * time.Minute
)

// readmeBlock is one fenced sh block of the README.
type readmeBlock struct {
	line   int    // line of the opening fence
	script string // the block's lines, the fence's indentation removed
	skip   string // the reason given with the skip marker ("" = run it)
}

// readmeBlocks extracts the ```sh blocks of a Markdown document.
func readmeBlocks(t *testing.T, doc string) []readmeBlock {
	t.Helper()
	var blocks []readmeBlock
	var cur *readmeBlock
	var indent string
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if cur == nil {
			if trimmed == "```sh" {
				cur, indent = &readmeBlock{line: n}, line[:len(line)-len(trimmed)]
			}
			continue
		}
		if trimmed == "```" {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.script += strings.TrimPrefix(line, indent) + "\n"
	}
	if cur != nil {
		t.Fatalf("README.md:%d: the sh block is not closed", cur.line)
	}
	for i := range blocks {
		first, _, _ := strings.Cut(strings.TrimSpace(blocks[i].script), "\n")
		if reason, ok := strings.CutPrefix(first, readmeSkipMarker); ok {
			if blocks[i].skip = strings.TrimSpace(reason); blocks[i].skip == "" {
				t.Errorf("README.md:%d: the skip marker gives no reason", blocks[i].line)
			}
		}
	}
	return blocks
}

// TestREADMECommands (issue 16 item 9): every runnable sh block of
// README.md exits 0 when run with bash -euo pipefail in a new empty
// directory holding the binary (built once) as ./authnzrv and on PATH, with
// PORT set to a free port and no AUTHNZERVER_* variables; processes a block
// leaves behind are killed with its process group.
func TestREADMECommands(t *testing.T) {
	raw, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, string(raw))
	run := 0
	for _, b := range blocks {
		if b.skip == "" {
			run++
		}
	}
	if run < 3 {
		t.Fatalf("only %d runnable sh blocks in README.md", run)
	}
	bin := sharedBinary(t)
	for _, b := range blocks {
		t.Run(fmt.Sprintf("README.md:%d", b.line), func(t *testing.T) {
			if b.skip != "" {
				t.Skip(b.skip)
			}
			runReadmeBlock(t, bin, b)
		})
	}
}

// runReadmeBlock runs one block and fails with its output unless it exits 0.
func runReadmeBlock(t *testing.T, bin string, b readmeBlock) {
	t.Helper()
	dir := t.TempDir()
	if err := copyExecutable(bin, filepath.Join(dir, "authnzrv")); err != nil {
		t.Fatal(err)
	}
	script := strings.ReplaceAll(b.script, readmeBuild, "test -x ./authnzrv")
	ctx, cancel := context.WithTimeout(context.Background(), readmeBlockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(clearedEnv(), "PORT="+fmt.Sprint(freePort(t)), "HOME="+dir,
		"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A file, not a pipe: a server the block leaves in the background
	// would hold a pipe open and keep Wait waiting.
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	runErr := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // whatever the block left running
	}
	text, _ := os.ReadFile(out.Name())
	if runErr != nil {
		t.Fatalf("README.md:%d: %v\n--- block ---\n%s--- output ---\n%s", b.line, runErr, b.script, text)
	}
	lines := strings.Split(strings.TrimRight(string(text), "\n"), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	t.Logf("README.md:%d ran; its last lines:\n%s", b.line, strings.Join(lines, "\n"))
}

// copyExecutable copies the binary to path, mode 0755.
func copyExecutable(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// TestREADMEBlocksExtraction: the extraction finds indented blocks, keeps
// other languages out, reads the skip marker's reason and refuses none
// without one.
func TestREADMEBlocksExtraction(t *testing.T) {
	t.Parallel()
	doc := "text\n```sh\necho a\n```\n```go\nx := 1\n```\n- item\n\n  ```sh\n  # not run by the README test: needs a server\n  echo b\n  ```\n```\nplain\n```\n"
	got := readmeBlocks(t, doc)
	if len(got) != 2 || got[0].script != "echo a\n" || got[0].skip != "" || got[0].line != 2 ||
		got[1].skip != "needs a server" || !strings.HasSuffix(got[1].script, "echo b\n") || got[1].line != 10 {
		t.Fatalf("blocks: %+v", got)
	}
}

// TestREADMENamesGoVersion (item 9): the README names the Go version as
// go.mod states it.
func TestREADMENamesGoVersion(t *testing.T) {
	t.Parallel()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if want := "`go " + string(m[1]) + "`"; !strings.Contains(string(readme), want) {
		t.Fatalf("README.md does not name %s (go.mod's go line)", want)
	}
}

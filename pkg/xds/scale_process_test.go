package xds

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff.dev/skiff/pkg/model"
)

// The simulated proxies can run in a child process (SKIFF_BENCH_FLEET=process) so that the benchmark
// process's memory is the server's alone. The child is this test binary running TestScaleFleetProcess;
// the parent drives it with one command per line on stdin and reads one answer line per command:
//
//	mark <typeURL>         -> "fleet: ok" having noted each proxy's count of ACKed responses of the type
//	wait <typeURL>         -> "fleet: ok" once every proxy ACKed a response of the type since its mark
//	settle                 -> "fleet: ok" once no response arrived for a quiet period
//	split <w1> <w2>        -> "fleet: ok" if proxy 0's route for the changed service has that split
//	endpoints <n>          -> "fleet: ok" if proxy 0 has n endpoints for the changed service
//
// Errors answer "fleet: error: <message>". The child prints "fleet: ready" once connected and exits at EOF.
const fleetPrefix = "fleet: "

// TestScaleFleetProcess is the child process; it does nothing in a normal test run.
func TestScaleFleetProcess(t *testing.T) {
	addr := os.Getenv("SKIFF_BENCH_FLEET_ADDR")
	if addr == "" {
		t.Skip("only runs as the proxy process of the scale benchmarks")
	}
	proxies, _ := strconv.Atoi(os.Getenv("SKIFF_BENCH_PROXIES"))
	replicas, _ := strconv.Atoi(os.Getenv("SKIFF_BENCH_REPLICAS"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := connectFleet(ctx, addr, fleetSpec{proxies: proxies, replicas: replicas}, model.Build(largeInput(scaleServices)), true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	fmt.Println(fleetPrefix + "ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println(fleetPrefix + f.command(ctx, strings.Fields(sc.Text())))
	}
}

// command runs one line of the protocol.
func (f *fleet) command(ctx context.Context, args []string) string {
	arg := func(i int) uint64 {
		if i >= len(args) {
			return 0
		}
		n, _ := strconv.ParseUint(args[i], 10, 64)
		return n
	}
	var err error
	switch {
	case len(args) == 2 && args[0] == "mark":
		err = f.mark(args[1])
	case len(args) == 2 && args[0] == "wait":
		err = f.waitPast(ctx, args[1])
	case len(args) == 1 && args[0] == "settle":
		err = f.settle(ctx)
	case len(args) == 3 && args[0] == "split":
		err = f.checkSplit([2]uint32{uint32(arg(1)), uint32(arg(2))})
	case len(args) == 2 && args[0] == "endpoints":
		err = f.checkEndpoints(int(arg(1)))
	default:
		err = fmt.Errorf("unknown command %q", strings.Join(args, " "))
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

// processFleet is the parent's handle on the child process.
type processFleet struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startFleetProcess(ctx context.Context, addr string, spec fleetSpec) (*processFleet, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestScaleFleetProcess$", "-test.count=1", "-test.timeout=0")
	// GOMEMLIMIT is the server's budget, not the simulated proxies'.
	cmd.Env = append(os.Environ(), "SKIFF_BENCH_FLEET_ADDR="+addr, "GOMEMLIMIT=off",
		"SKIFF_BENCH_PROXIES="+strconv.Itoa(spec.proxies), "SKIFF_BENCH_REPLICAS="+strconv.Itoa(spec.replicas))
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 10 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &processFleet{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	if answer, err := p.answer(); err != nil || answer != "ready" {
		p.close()
		return nil, fmt.Errorf("proxy process did not start: %q %v", answer, err)
	}
	return p, nil
}

// answer is the next protocol line, skipping whatever else the test binary prints.
func (p *processFleet) answer() (string, error) {
	for p.out.Scan() {
		if rest, ok := strings.CutPrefix(p.out.Text(), fleetPrefix); ok {
			return rest, nil
		}
	}
	if err := p.out.Err(); err != nil {
		return "", err
	}
	return "", io.ErrUnexpectedEOF
}

func (p *processFleet) do(format string, args ...any) (string, error) {
	if _, err := fmt.Fprintf(p.stdin, format+"\n", args...); err != nil {
		return "", err
	}
	answer, err := p.answer()
	if err != nil {
		return "", fmt.Errorf("proxy process: %w", err)
	}
	if msg, failed := strings.CutPrefix(answer, "error: "); failed {
		return "", fmt.Errorf("proxy process: %s", msg)
	}
	return answer, nil
}

func (p *processFleet) ok(format string, args ...any) error {
	_, err := p.do(format, args...)
	return err
}

func (p *processFleet) mark(typ string) error { return p.ok("mark %s", typ) }

func (p *processFleet) waitPast(_ context.Context, typ string) error { return p.ok("wait %s", typ) }

func (p *processFleet) settle(context.Context) error { return p.ok("settle") }

func (p *processFleet) checkSplit(split [2]uint32) error {
	return p.ok("split %d %d", split[0], split[1])
}

func (p *processFleet) checkEndpoints(n int) error { return p.ok("endpoints %d", n) }

// close ends the child by closing its stdin and waits for it.
func (p *processFleet) close() {
	_ = p.stdin.Close()
	_ = p.cmd.Wait()
}

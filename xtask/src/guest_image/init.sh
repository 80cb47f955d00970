#!/bin/busybox sh
# /init of the Aether x86 guest: busybox applets, the virtual file systems, a shell on ttyS0.
# Every program started costs the emulated guest about 0.1 s, so this starts few: shell builtins
# where they do, one `mount -a` (etc/fstab: proc, sysfs, devtmpfs, /tmp) and one `modprobe -a`.
/bin/busybox --install -s
mount -a
mkdir /dev/pts
mount -t devpts devpts /dev/pts
# The tab's files and the guest's tools, served live by the page over virtio 9p (tag host9p) at
# /mnt/host: /mnt/files links to its files/, and the tools' programs and libraries are linked from
# where Debian looks for them (/usr/bin/git, /lib/ld-linux.so.2, ...). No page cache (cache=none):
# an Editor save is what the next read sees. The 686 kernel has 9p as modules, listed in
# /lib/modules/order each after those it depends on (worked out when the image is built).
# The network card's modules (v86's NE2000) wait for the background, below.
modules= net=
while read -r m; do
  case $m in
    8390 | ne2k-pci) net="$net $m" ;;
    *) modules="$modules $m" ;;
  esac
done < /lib/modules/order
modprobe -a $modules 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=131072 host9p /mnt/host 2>/dev/null
echo aether > /proc/sys/kernel/hostname
# The Terminal's rows and columns come on the second serial port: once it listens there, /init
# asks ("size"), and the tab answers with a "rows cols" line, then one more on each resize; stty
# sets them on the shell's line (and the kernel signals SIGWINCH). Builtins but for stty.
{
  echo size > /dev/ttyS1
  while read -r rows cols; do
    [ -n "$cols" ] && stty -F /dev/ttyS0 rows "$rows" cols "$cols"
  done
} < /dev/ttyS1 &
# Python would try to write __pycache__ beside its read-only modules.
export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin TERM=xterm-256color PYTHONDONTWRITEBYTECODE=1
export PS1='root@aether:\w# '
cd /root
echo "aether: guest ready"
# The network, in the background once the shell is up (the guest has one CPU: loading a driver
# beside the shell's start would hold its prompt back): the NE2000's driver, then a DHCP lease
# from v86 (192.168.86.100, gateway and DNS 192.168.86.1) that udhcpc's script
# (/etc/udhcpc/default.script) puts on eth0, the default route and /etc/resolv.conf.
# Every connection goes out through the Aether kernel's relay, under its egress list.
{
  sleep 2
  modprobe -a $net 2>/dev/null && udhcpc -q -b -i eth0 > /dev/null 2>&1
} &
# The agent's commands (`vm.exec`) come on the third serial port, apart from the user's shell:
# "run <id> <seconds> <bytes>", the command in base64 lines, "."; each runs with `sh -c` under
# `timeout` (killed at its limit; stdin empty, stdout and stderr into one file), and the answer
# goes back as "out <id>", the output's first <bytes> in base64, "end <id> <status>". One at a
# time. Builtins until a command comes (the tab skips the line's echo), then base64 twice,
# timeout (and its watcher), sh and head.
{
  echo exec
  while read -r op id t n; do
    [ "$op" = run ] || continue
    : > /tmp/.exec.in
    while read -r l && [ "$l" != . ]; do
      echo "$l" >> /tmp/.exec.in
    done
    timeout -s KILL "$t" sh -c "$(base64 -d /tmp/.exec.in)" > /tmp/.exec.out 2>&1 < /dev/null
    s=$?
    echo "out $id"
    head -c "$n" /tmp/.exec.out | base64
    echo "end $id $s"
  done
} < /dev/ttyS2 > /dev/ttyS2 2>&1 &
while true; do
  setsid cttyhack sh -l
done

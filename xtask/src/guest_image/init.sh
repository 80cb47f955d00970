#!/bin/busybox sh
# /init of the Aether x86 guest: busybox applets, the virtual file systems, a shell on ttyS0.
# Every program started costs the emulated guest about 0.1 s, so this starts few: shell builtins
# where they do, one `mount -a` (etc/fstab: proc, sysfs, devtmpfs, /tmp) and one `modprobe -a`.
/bin/busybox --install -s
mount -a
mkdir /dev/pts
mount -t devpts devpts /dev/pts
# The tab's files, shared by v86 over virtio 9p (tag host9p): the 686 kernel has 9p as modules,
# listed in /lib/modules/order each after those it depends on (worked out when the image is built).
# The network card's modules (v86's NE2000) wait for the background, below.
modules= net=
while read -r m; do
  case $m in
    8390 | ne2k-pci) net="$net $m" ;;
    *) modules="$modules $m" ;;
  esac
done < /lib/modules/order
modprobe -a $modules 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none host9p /mnt/files 2>/dev/null
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
export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin TERM=xterm-256color
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
while true; do
  setsid cttyhack sh -l
done

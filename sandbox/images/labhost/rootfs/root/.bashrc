# ~/.bashrc for root in a lab host (Debian's, shortened, with a colour prompt).
[ -z "$PS1" ] && return

HISTCONTROL=ignoreboth
HISTSIZE=1000
shopt -s histappend checkwinsize

# root@host1:~#  (green user@host, blue directory)
case "$TERM" in
  xterm*|*-256color|screen*|tmux*|linux)
    PS1='\[\e[01;32m\]\u@\h\[\e[00m\]:\[\e[01;34m\]\w\[\e[00m\]\$ ' ;;
  *)
    PS1='\u@\h:\w\$ ' ;;
esac

alias ls='ls --color=auto'
alias ll='ls -l'
alias grep='grep --color=auto'
export EDITOR=vim.tiny

# Completion for docker, ip, ... (bash-completion is installed; login shells load it via
# /etc/profile.d, this covers `bash` started from a shell).
if ! shopt -oq posix && [ -z "${BASH_COMPLETION_VERSINFO:-}" ] && [ -f /usr/share/bash-completion/bash_completion ]; then
  . /usr/share/bash-completion/bash_completion
fi

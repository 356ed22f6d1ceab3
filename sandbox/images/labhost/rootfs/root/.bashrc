# ~/.bashrc for root in a lab host (Debian's, shortened, with a colour prompt).
[ -z "$PS1" ] && return

HISTCONTROL=ignoreboth
HISTSIZE=1000
shopt -s histappend checkwinsize
# Each command reaches ~/.bash_history as it runs, not when the shell exits: a shell ended by a
# closed tab or a restarted lab server still leaves its commands on the next shell's up arrow.
PROMPT_COMMAND="history -a${PROMPT_COMMAND:+; $PROMPT_COMMAND}"

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

# Completion for docker, ip, ... loads on the first Tab, not at start: sourcing bash-completion
# takes ~20 ms, on the way to every terminal's first prompt. (The image drops its
# /etc/profile.d hook for the same reason.) Status 124 makes bash retry the completion with
# what bash-completion just defined.
_lab_load_completion() {
  complete -r -D
  . /usr/share/bash-completion/bash_completion
  return 124
}
if ! shopt -oq posix && [ -z "${BASH_COMPLETION_VERSINFO:-}" ] && [ -f /usr/share/bash-completion/bash_completion ]; then
  complete -D -F _lab_load_completion
fi

/**
 * 简体中文 UI text. Typed as `Messages` (en.ts defines the keys), so a missing or extra key fails the type
 * check. Terms follow docs/glossary.md; the names of controls are its table "On the page".
 */
import type { Messages } from './en.ts';

export const zh: Messages = {
  site: {
    title: 'Docker 网络实验室',
    tagline: '一门动手学习 Docker 如何连接容器的课程：每一章都在浏览器里给你一台真实的 Docker 主机。',
  },
  chrome: {
    skipToContent: '跳到正文',
    skipToLab: '跳到实验',
    chaptersButton: '章节',
    search: '搜索',
    darkTheme: '深色主题',
    courseNavigation: '课程导航',
    chapters: '章节',
    overview: '课程概览',
    visited: '已读',
    visitedHidden: '（已读）',
    exercisesPassed: '已通过的练习',
    labBadge: '实验',
    labBadgeTitle: '本章带有在线实验',
    onThisPage: '本页内容',
    goalsTitle: '学完本章，你将能够',
    prevNextLabel: '上一章和下一章',
    previous: '上一章',
    next: '下一章',
  },
  overview: {
    introHtml: (badge: string) =>
      `每一章讲解 Docker 网络的一个方面，然后让你亲手试一试。标有 ${badge} 的章节带有实验面板：几台真实的 Linux 机器，每台运行着自己的 Docker 引擎，shell 就在你的浏览器里。正文中的命令带有<strong>运行</strong>按钮，点一下就会替你把命令输入到对应的机器上；你也可以自己动手输入。`,
    startWith: (title: string) => `从「${title}」开始`,
    chapters: '章节',
    exercisesIn: (title: string) => `「${title}」中的练习`,
    passedHidden: '（已通过）',
    visited: '已读',
    progressTitle: '你的进度',
    progressText: '上面的勾号标出你打开过的章节和检查已通过的练习。它们只保存在这个浏览器里，不会发送到任何地方。',
    resetProgress: '重置进度',
  },
  language: {
    switchLabel: '语言',
    readIn: (language: string) => `用${language}阅读本页`,
  },
};

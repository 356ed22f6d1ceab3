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
  language: {
    switchLabel: '语言',
    readIn: (language: string) => `用${language}阅读本页`,
  },
};

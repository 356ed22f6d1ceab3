/**
 * English UI text: the catalogue that defines the keys (see index.ts). One block per area of the
 * page; add a key here and the type check asks for it in zh.ts. The blocks the browser's scripts
 * show live in ./en/ (one file per time they are loaded: with the page, with the terminals, with
 * the Map tab, on the instructor page), so a script's bundle holds its own words and no others
 * (src/i18n/page.ts); this object puts them together with the rest.
 */
import type { ErrorCode } from '../../contract/api.ts';
import type { FileErrorCode } from '../../contract/files.ts';
import type { RunnerNoticeCode } from '../../contract/protocol.ts';
import { code, engine, exercise, lab, labApi, preview, progress, search } from './en/page.ts';
import { terminal } from './en/terminal.ts';
import { map, mapLayout } from './en/map.ts';
import { instructor } from './en/instructor.ts';

export const en = {
  site: {
    title: 'Docker Networking Lab',
    tagline: 'A hands-on course on how Docker connects containers, with a real Docker host in your browser for every chapter.',
  },
  /** Page chrome: skip links, header, sidebar, previous/next, the lesson header. */
  chrome: {
    skipToContent: 'Skip to content',
    skipToLab: 'Skip to the lab',
    chaptersButton: 'Chapters',
    search: 'Search',
    darkTheme: 'Dark theme',
    courseNavigation: 'Course navigation',
    chapters: 'Chapters',
    overview: 'Course overview',
    visited: 'Visited',
    visitedHidden: '(visited)',
    exercisesPassed: 'Exercises passed',
    labBadge: 'lab',
    labBadgeTitle: 'This chapter has a live lab',
    onThisPage: 'On this page',
    goalsTitle: 'In this chapter you will',
    prevNextLabel: 'Previous and next chapter',
    previous: 'Previous',
    next: 'Next',
  },
  /** The course overview (the home page). */
  overview: {
    /** HTML: `badge` is the lab badge's markup. */
    introHtml: (badge: string) =>
      `Each chapter explains one part of Docker networking and then lets you try it. Chapters marked ${badge} come with a lab panel: real Linux machines, each running its own Docker Engine, with a shell in your browser. Commands in the text have a <strong>Run</strong> button that types them into the right machine for you, or you can type them yourself.`,
    startWith: (title: string) => `Start with “${title}”`,
    chapters: 'Chapters',
    exercisesIn: (title: string) => `Exercises in “${title}”`,
    passedHidden: '(passed)',
    visited: 'Visited',
    progressTitle: 'Your progress',
    progressText:
      'The ticks above show the chapters you have opened and the exercises whose check passed. They are kept in this browser only; nothing is sent anywhere.',
    resetProgress: 'Reset progress',
  },
  /** The language switch and its announcements. */
  language: {
    switchLabel: 'Language',
    /** Said by the link to the same page in the other language. */
    readIn: (language: string) => `Read this page in ${language}`,
  },
  /** The lab panel's markup (src/layouts/parts/LabPanel.astro): rendered with the page, so none of it is in the browser's bundle. */
  labPanel: {
    title: 'Lab',
    engineLabel: 'Docker Engine',
    hostListOne: (host: string) => `one lab host, ${host}`,
    hostListMany: (count: number, hosts: string) => `${count} lab hosts, ${hosts}`,
    intro: (hostList: string) =>
      `This lab gives you ${hostList}: a Linux machine with its own Docker Engine. Start it to get a shell, or press Run on any command in the text.`,
    screenReader: 'Screen reader mode',
    /** The arguments are the keys, already marked up (<kbd>). */
    keys: (esc: string, tab: string, shiftTab: string) => `In a terminal, Tab completes; press ${esc}, then ${tab} or ${shiftTab}, to move focus out of it.`,
    accessCode: 'Access code',
    accessCodeTitle: 'Letters, digits and punctuation; a browser cannot send other characters in an access code.',
    fromInstructor: 'From the instructor:',
    dismiss: 'Dismiss',
    watching: 'An instructor is watching your terminal (they can see it, not type in it).',
    nameLabel: 'Your name for the instructor (optional)',
    save: 'Save',
    skip: 'Skip',
    previews: 'Web previews:',
    tabsLabel: 'Lab hosts and map',
  },
  // The areas the browser's scripts show, in files of their own (./en/): see ./en/page.ts.
  lab,
  labApi,
  terminal,
  exercise,
  code,
  progress,
  engine,
  preview,
  search,
  /** The lessons' authoring components (src/components/). */
  components: {
    asideNote: 'Note',
    asideVersion: 'Docker versions',
    asideCaution: 'Careful',
    figureScroll: 'Diagram (scrolls sideways on small screens)',
    goalScroll: 'The goal map (scrolls sideways on small screens)',
    goalName: (caption: string) => `The goal: ${caption}`,
    goalLead: 'The goal.',
    goalAfter: "Open the lab panel's Map tab to see your lab drawn the same way (its addresses may differ).",
    goalList: 'The goal as a list',
  },
  map,
  mapLayout,
  instructor,
  /**
   * One sentence per error code of the runner's HTTP API (contract/api.ts), for pages not in
   * English: an English page shows the runner's own sentence, which is more specific.
   */
  api: {
    bad_url: 'The address of this request could not be understood. Check the URL and try again.',
    bad_json: 'The request body is not valid JSON. Reload the page and try again.',
    bad_request: 'The lab server could not use this request. Reload the page and try again.',
    access_code_required: 'This workshop needs an access code to start a lab. Enter the code the organiser gave you.',
    access_code_wrong: 'That access code is not right. Check it with the organiser and enter it again.',
    instructor_off: 'The instructor dashboard is off on this server. Start the runner with LAB_INSTRUCTOR_CODE set to turn it on.',
    sign_in_required: 'Sign in to the instructor dashboard first, with the instructor code.',
    instructor_code_wrong: 'That is not the instructor code. Check LAB_INSTRUCTOR_CODE on the server and try again.',
    forbidden_origin: "Requests from this address are not allowed. Open the course from the lab server's own address.",
    not_found: 'The lab server has no such API. Reload the page; the site and the server may be different versions.',
    unknown_lesson: 'This lesson has no lab on this server. Reload the page: the course may have changed since you opened it.',
    lab_not_found: 'This lab no longer exists (it expired or was removed). Start a new lab.',
    exercise_not_found: 'This lesson has no such exercise. Reload the page: the course may have changed since you opened it.',
    no_setup: 'This exercise has nothing to start: do its task in your lab, then press Check.',
    check_running: 'A check is already running in this lab. Wait for its answer, then press Check again.',
    setup_running: 'An exercise is being started in this lab. Wait for it to finish, then try again.',
    setup_failed: 'The exercise could not be set up in your lab. Stop the lab, start a new one and press Start exercise again.',
    room_too_large: 'This machine cannot keep that many labs ready. Ask for fewer labs.',
    body_too_large: 'The request is too large for the lab server. Send less.',
    rate_limited: 'Too many requests came from your address just now. Wait a minute, then try again.',
    address_full: 'Your address already holds as many labs as it may. Stop a lab you no longer use (or wait until one expires), then start this one again.',
    internal: 'The lab server hit an unexpected error. Try again; if it happens again, tell the organiser.',
    capacity: 'The workshop is full: every lab this machine can run is in use. Try again in a few minutes.',
    image_missing: 'The lab host image for this Docker Engine is not ready on the server yet. Try again in a few minutes, or choose another engine.',
    no_subnet: 'The lab server found no free subnet for the lab network. Try again in a few minutes.',
    bridge_setup: 'The lab server could not set up the lab network. Try again; if it happens again, tell the organiser.',
    docker_error: 'The lab server could not talk to Docker. Stop the lab and start a new one.',
    check_failed: 'The check could not run in your lab. Stop the lab and start a new one.',
    cell_unreachable: 'The machine holding this lab does not answer; it may be restarting. Try again in a minute.',
  } satisfies Record<Exclude<ErrorCode, FileErrorCode>, string>,
  /**
   * One sentence per code the runner puts on what it sends over the terminal and lab event
   * sockets (RUNNER_NOTICES in contract/protocol.ts), shown on pages not in English.
   */
  runner: {
    max_lifetime: 'This lab reached its maximum lifetime and was removed.',
    idle: 'This lab was idle too long and was removed.',
    another_tab: 'You started a lab in another tab or lesson of this browser, so this one was stopped (one lab per browser).',
    shutdown: 'The lab server is shutting down; this lab was removed.',
    stopped: 'This lab was stopped.',
    ended_by_instructor: 'The instructor ended this lab.',
    host_stopped: 'A lab host stopped, so this lab was removed. Start a new lab.',
    shell_failed: 'Could not open a shell on this lab host. Stop the lab and start a new one.',
    host_gone: 'This lab host no longer exists (the lab was removed). Start a new lab.',
    docker_lost: 'The lab server lost its connection to Docker (the engine may have restarted), and this lab with it. Start a new lab when the server is back.',
    host_exited: 'This lab host stopped, so its terminal closed. Stop the lab and start a new one.',
  } satisfies Record<RunnerNoticeCode, string>,
};

export type Messages = typeof en;

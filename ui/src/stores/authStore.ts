/** Who is signed in. */
import { create } from "zustand";
import { setToken } from "../api/client";
import type { AuthResult, User } from "../api/types";

interface AuthState {
  user: User | null;
  token: string | null;
  signIn(result: AuthResult): void;
  signOut(): void;
}

const saved = localStorage.getItem("fm.user");

export const useAuthStore = create<AuthState>((set) => ({
  user: saved ? (JSON.parse(saved) as User) : null,
  token: localStorage.getItem("fm.token"),
  signIn: ({ user, token }) => {
    setToken(token);
    localStorage.setItem("fm.user", JSON.stringify(user));
    set({ user, token });
  },
  signOut: () => {
    setToken(null);
    localStorage.removeItem("fm.user");
    set({ user: null, token: null });
  },
}));
